// Observers only watch a run: fed a throwing, a rejecting, a hanging, a slow and a
// signal-grabbing observer, the driver carries a full run and a rollback to the same
// end, through the same journal, in the same virtual time as with no observer at all.
import {execa} from 'execa'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../../src/core/ports.js'
import {RunDriver, type Outcome} from '../../../src/core/run/driver.js'
import type {RunState} from '../../../src/core/run/state.js'
import {ObserverHub, type Watcher} from '../../../src/services/observers.js'
import {LiveProgress} from '../../../src/ui/progress.js'
import {check, healthy, testActor} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

type Scenario = (h: ReturnType<typeof harness>) => void

/** a run that waits at a pause step, is paused and resumed, then promoted: every request kind */
const fullRun: Scenario = (h) => {
  h.config.steps[1] = {weight: 10, bakeMs: 0, pause: true}
  h.clock.at(100_000, () => h.inbox.post('pause'))
  h.clock.at(200_000, () => h.inbox.post('resume'))
  h.clock.at(2_000_000, () => h.inbox.post('promote'))
}

/** the gate fails at step 2: two consecutive fails roll back, traffic first, then the hosts */
const gateRollback: Scenario = (h) => {
  h.source.script = () => (h.state().stepIndex === 1 ? healthy(0.05) : healthy())
}

async function drive(scenario: Scenario, watchers: Watcher[], report: string[] = []) {
  const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check()]}})
  scenario(h)
  const hub = new ObserverHub(watchers, {report: (l) => report.push(l), debug: false})
  await h.begin()
  const driver = new RunDriver({config: h.config, journal: h.journal, gateway: h.gateway, deployer: h.deployer, sources: {m: h.source}, clock: h.clock, inbox: h.inbox, actor: testActor, observe: hub.emit})
  let out: Outcome
  for (;;) {
    out = await h.clock.run(driver.drive(), 48 * 3600_000)
    if (out.state.outcome) break
    // waiting at the pause step: the promote is due later in virtual time
    await h.clock.run(new Promise<void>((resolve) => h.clock.at(h.clock.elapsed + 1_000_000, resolve)))
  }
  return {h, out, hub}
}

const misbehaving = (seen: JournalEvent[]): Watcher[] => [
  {
    name: 'a throwing display',
    observe: () => {
      throw new Error('boom')
    },
  },
  {name: 'a rejecting display', observe: async () => Promise.reject(new Error('render failed: rolling back'))},
  {name: 'a hanging display', observe: () => new Promise(() => undefined)},
  {name: 'a notifier that throws and stays', observe: () => {
    throw new Error('webhook down')
  }, onFailure: 'keep'},
  {
    name: 'a display that grabs Ctrl-C',
    observe: () => {
      if (!process.listeners('SIGINT').some((l) => l.name === 'grab')) process.on('SIGINT', function grab() {})
    },
  },
  {name: 'a recorder', observe: (e: JournalEvent, _s: RunState) => void seen.push(e)},
]

describe('the observer hub', () => {
  const sigint = process.listeners('SIGINT')
  afterEach(() => {
    for (const l of process.listeners('SIGINT')) if (!sigint.includes(l)) process.off('SIGINT', l)
  })

  for (const [name, scenario, status, code] of [
    ['a full run (wait, pause, resume, promote)', fullRun, 'completed', 0],
    ['a gate-triggered rollback', gateRollback, 'rolled_back', 3],
  ] as const) {
    it(`${name}: ends the same, in the same virtual time, with every event delivered`, async () => {
      const baseline = await drive(scenario, [])
      const seen: JournalEvent[] = []
      const report: string[] = []
      const {h, out, hub} = await drive(scenario, misbehaving(seen), report)

      expect(out.state.status).toBe(status)
      expect(out.exitCode).toBe(code)
      expect(h.journal.types()).toEqual(baseline.h.journal.types())
      expect(h.clock.elapsed).toBe(baseline.h.clock.elapsed)
      expect(h.gateway.weights()).toEqual(baseline.h.gateway.weights())
      if (status === 'rolled_back') {
        // traffic back to stable: the last split published is 0, then the plain policy
        expect(h.gateway.weights().slice(-2)).toEqual([0, -1])
        expect([...h.deployer.versions.values()].every((v) => v === 'v1')).toBe(true)
      }
      // the recorder, called after the broken ones, saw every event the journal holds (bar run.started, written before)
      expect(seen.map((e) => e.seq)).toEqual(h.journal.list.slice(1).map((e) => e.seq))
      const types = new Set(seen.map((e) => e.type))
      for (const t of status === 'completed'
        ? ['request.received', 'run.paused', 'run.resumed', 'step.waiting', 'run.promoted', 'driver.detached', 'run.completed', 'gate.measured', 'host.deploy.succeeded']
        : ['rollback.started', 'gateway.publish.confirmed', 'host.deploy.started', 'run.rolled_back'])
        expect(types).toContain(t)

      await new Promise((r) => setImmediate(r))
      // each failure reported once, one line each; the signal handler it installed is gone
      expect(report.filter((l) => l.includes('a throwing display'))).toEqual(['gray: a throwing display failed: boom; the run goes on without a throwing display'])
      expect(report.filter((l) => l.includes('a rejecting display'))).toHaveLength(1)
      expect(report.filter((l) => l.includes('a notifier that throws and stays'))).toEqual(['gray: a notifier that throws and stays failed: webhook down; the run goes on'])
      expect(report.filter((l) => l.includes('grabs Ctrl-C'))).toEqual([expect.stringMatching(/installed a SIGINT handler, which was removed/)])
      expect(report.some((l) => /\n|at .*\.ts:\d+/.test(l))).toBe(false)
      expect(process.listeners('SIGINT').filter((l) => l.name === 'grab')).toHaveLength(0)
      // a kept notifier is called every time; a dropped display only once
      expect(hub.failures.filter((f) => f.name === 'a notifier that throws and stays').length).toBe(seen.length)
      expect(hub.failures.filter((f) => f.name === 'a throwing display')).toHaveLength(1)
    })
  }

  it('prints the stack of a failing observer only with DEBUG=gray*', () => {
    const lines: string[] = []
    const hub = new ObserverHub([{name: 'x', observe: () => { throw new Error('boom') }}], {report: (l) => lines.push(l), debug: true})
    hub.emit({seq: 1, at: '2026-11-22T10:00:00Z', actor: testActor, type: 'driver.attached', data: {}}, {} as RunState)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/Error: boom\n\s+at /)
  })

  it('the live view, on a terminal whose writes fail, goes quiet and the run completes', async () => {
    const out = Object.assign(new PassThrough(), {columns: 120, rows: 40, isTTY: true}) as unknown as NodeJS.WriteStream
    out.write = () => {
      throw new Error('EIO')
    }
    const view = new LiveProgress(out)
    const {out: outcome} = await drive(fullRun, [{name: 'the progress display', observe: (e, s) => view.observe(e, s)}])
    await view.end(outcome.state)
    expect(outcome.state.status).toBe('completed')
  })

  it('while a run is driven, a stray rejection (a display\'s own promise) is reported once and does not end the process', async () => {
    const module = path.resolve('src/services/observers.ts')
    const script = `import {guardStrayRejections} from ${JSON.stringify(module)}
const off = guardStrayRejections()
Promise.reject(new Error('rolling back: gate failed'))
Promise.reject(new Error('rolling back: gate failed'))
setTimeout(() => { off(); console.log('the driver goes on') }, 200)`
    const r = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {reject: false, env: {DEBUG: ''}})
    expect(r.exitCode, String(r.stderr)).toBe(0)
    expect(String(r.stdout)).toBe('the driver goes on')
    expect(String(r.stderr)).toBe("gray: an error off the driver's path was ignored: rolling back: gate failed; the run goes on")
  })
})
