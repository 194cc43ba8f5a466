// What SIGINT/SIGTERM do while this process drives: the first Ctrl-C on a terminal
// asks while the driver goes on; a second one, SIGTERM, or no terminal pauses.
import {describe, expect, it} from 'vitest'

import type {RequestKind} from '../../../src/core/ports.js'
import type {RunState} from '../../../src/core/run/state.js'
import {interruptions, type InterruptChoice} from '../../../src/services/drive.js'

function fakeDriver(state: Partial<RunState> = {}) {
  const requests: Array<{kind: RequestKind; reason?: string}> = []
  const driver = {
    requests,
    /** times this process's own signal told the driver to leave at the hold */
    left: 0,
    leave: () => void (driver.left += 1),
    state: () => ({rollback: null, ...state}) as RunState,
    request: async (kind: RequestKind, o: {reason?: string} = {}) => void requests.push({kind, reason: o.reason}),
  }
  return driver
}

const tick = () => new Promise((r) => setImmediate(r))

describe('interruptions', () => {
  for (const [choice, expected] of [
    ['continue', []],
    ['rollback', [{kind: 'rollback', reason: 'rolled back after Ctrl-C'}]],
    ['pause', [{kind: 'pause', reason: 'interrupted by SIGINT'}]],
  ] as const) {
    it(`first Ctrl-C asks and nothing is requested until the answer; "${choice}" does what it says`, async () => {
      const d = fakeDriver()
      let answer: (c: InterruptChoice) => void = () => undefined
      const notes: Array<[string, boolean]> = []
      const s = interruptions(d, {ask: () => new Promise((r) => (answer = r)), note: (l, loud) => notes.push([l, Boolean(loud)])})
      s.on('SIGINT')
      await tick()
      expect(d.requests).toEqual([])
      answer(choice)
      await tick()
      expect(d.requests).toEqual(expected)
      // "pause and leave" leaves even a driver that guards holds: the person chose to leave
      expect(d.left).toBe(choice === 'pause' ? 1 : 0)
      if (choice === 'pause') expect(notes.find(([, loud]) => loud)?.[0]).toMatch(/the run is now UNGUARDED until `gray resume`/)
    })
  }

  it('a second Ctrl-C while the question is open pauses at once and closes the question', async () => {
    const d = fakeDriver()
    let cancelled = false
    const s = interruptions(d, {
      ask: (_s, cancel) =>
        new Promise((_r, reject) => cancel.addEventListener('abort', () => ((cancelled = true), reject(new Error('aborted'))))),
    })
    s.on('SIGINT')
    s.on('SIGINT')
    await tick()
    expect(cancelled).toBe(true)
    expect(d.requests).toEqual([{kind: 'pause', reason: 'interrupted by SIGINT'}])
  })

  it('Ctrl-C at the question itself (the prompt rejects) pauses', async () => {
    const d = fakeDriver()
    const s = interruptions(d, {ask: async () => Promise.reject(Object.assign(new Error('User force closed the prompt'), {name: 'ExitPromptError'}))})
    s.on('SIGINT')
    await tick()
    await tick()
    expect(d.requests).toEqual([{kind: 'pause', reason: 'interrupted by SIGINT'}])
  })

  it('SIGTERM, or Ctrl-C with no terminal to ask on, pauses once; more signals request nothing more', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const d = fakeDriver()
      const s = interruptions(d, signal === 'SIGTERM' ? {ask: async () => 'continue'} : {})
      s.on(signal)
      s.on(signal)
      await tick()
      expect(d.requests).toEqual([{kind: 'pause', reason: `interrupted by ${signal}`}])
      expect(d.left).toBe(1)
    }
  })

  it('during a rollback nothing is asked or requested: the rollback goes on', async () => {
    const d = fakeDriver({rollback: {reason: 'gate', by: 'gates', at: ''}})
    let asked = false
    const notes: string[] = []
    const s = interruptions(d, {ask: async () => ((asked = true), 'pause'), note: (l) => notes.push(l)})
    s.on('SIGINT')
    await tick()
    expect(asked).toBe(false)
    expect(d.requests).toEqual([])
    expect(notes[0]).toMatch(/rollback goes on/)
  })

  it('an answer that comes after the run ended changes nothing', async () => {
    const d = fakeDriver()
    let answer: (c: InterruptChoice) => void = () => undefined
    const s = interruptions(d, {ask: () => new Promise((r) => (answer = r))})
    s.on('SIGINT')
    s.close()
    answer('rollback')
    await tick()
    expect(d.requests).toEqual([])
  })
})
