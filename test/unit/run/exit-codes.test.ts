import {describe, expect, it} from 'vitest'
import {exitCodeOf, isEndedStatus, RUN_EXIT_CODES, waitExitCode} from '../../../src/core/run/exit-codes.js'
import {TERMINAL, type RunStatus} from '../../../src/core/run/state.js'

const ALL: RunStatus[] = ['deploying', 'running', 'baking', 'waiting', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed']

describe('run state → exit code', () => {
  it('maps every run state to the documented code', () => {
    expect(Object.keys(RUN_EXIT_CODES).sort()).toEqual([...ALL].sort())
    expect(ALL.map((status) => [status, exitCodeOf({status})])).toEqual([
      ['deploying', 1],
      ['running', 1],
      ['baking', 1],
      ['waiting', 4],
      ['paused', 4],
      ['rolling_back', 1],
      ['rolled_back', 3],
      ['completed', 0],
      ['failed', 1],
    ])
  })

  it('status --wait: an ended run exits with its code, any other state 4', () => {
    expect(TERMINAL.map((s) => waitExitCode(s))).toEqual(TERMINAL.map((s) => RUN_EXIT_CODES[s]))
    for (const s of ALL.filter((x) => !TERMINAL.includes(x))) {
      expect(isEndedStatus(s)).toBe(false)
      expect(waitExitCode(s)).toBe(4)
    }
    expect(waitExitCode('something new')).toBe(4)
    expect(isEndedStatus('completed')).toBe(true)
  })
})
