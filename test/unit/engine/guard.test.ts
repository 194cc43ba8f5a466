// The driver guarding holds (DriverOptions.guardWaits), in virtual time: gates measured while a step waits for
// promote or the run is paused, a rollback when they fail, never an advance, a wake on every request, and
// leaving only when told to.
import {describe, expect, it} from 'vitest'

import {healthy, transientError} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

const guarding = {guardWaits: true}

function pauseStepAt50() {
  const h = harness({}, guarding)
  h.config.steps[2] = {weight: 50, bakeMs: 0, pause: true}
  return h
}

describe('the driver guards holds', () => {
  it('a version that starts failing while its step waits for promote is rolled back by the driver itself', async () => {
    const h = pauseStepAt50()
    let waitingSince = 0
    h.source.script = (req) => {
      const s = h.state()
      if (s.waiting && !waitingSince) waitingSince = req.at
      // healthy for the first ten minutes of the wait, then 5% errors
      return s.waiting && req.at - waitingSince > 600_000 ? healthy(0.05) : healthy()
    }
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(out.state.reason).toMatch(/gate errors failed: 5% > max 1% \(2 consecutive fails\)/)
    // traffic went to 0 from the 50% it waited at; nothing advanced past the pause step
    expect(h.gateway.weights().slice(-3)).toEqual([5000, 0, -1])
    expect(h.journal.ofType('step.started').map((e) => e.data.index)).toEqual([0, 1, 2])
    const guarded = h.journal.ofType('driver.guarding')
    expect(guarded).toHaveLength(1)
    expect(guarded[0]!.data).toEqual({reason: 'waiting for gray promote', weightBp: 5000, intervalMs: 30_000})
    const whileWaiting = h.journal.ofType('gate.measured').filter((e) => e.data.step === 2)
    expect(whileWaiting.length).toBeGreaterThan(10)
    expect(whileWaiting.every((e) => e.data.guard === true)).toBe(true)
    // every gate interval, at the weight in force
    const times = whileWaiting.map((e) => Date.parse(String(e.data.evaluatedAt)))
    expect(new Set(times.slice(1).map((t, i) => t - times[i]!))).toEqual(new Set([30_000]))
    expect(h.journal.ofType('driver.detached')).toHaveLength(0)
  })

  it('guards a pause requested by another command, and a failing gate while paused rolls back', async () => {
    const h = harness({}, guarding)
    h.clock.at(700_000, () => h.inbox.post('pause'))
    h.source.script = (req) => (h.state().paused && req.at > Date.parse('2026-11-22T10:00:00Z') + 3_600_000 ? healthy(0.2) : healthy())
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(h.journal.ofType('run.paused')).toHaveLength(1)
    expect(h.journal.ofType('driver.guarding')[0]!.data).toMatchObject({reason: expect.stringMatching(/^paused by oncall/), weightBp: 1000})
    // the pause stopped advancement: step 2 (10%) never passed
    expect(h.journal.ofType('step.passed').map((e) => e.data.index)).toEqual([0])
    expect(h.gateway.weights().slice(-3)).toEqual([1000, 0, -1])
  })

  it('a promote wakes the guard at once, and the run goes on to completion', async () => {
    const h = pauseStepAt50()
    let waitedAt = 0
    h.clock.at(5 * 3_600_000, () => {
      waitedAt = h.clock.now()
      h.inbox.post('promote')
    })
    const out = await h.start()
    expect(out.exitCode).toBe(0)
    const passed = h.journal.ofType('step.passed').find((e) => e.data.index === 2)!
    expect(passed.data.by).toBe('promote')
    expect(Date.parse(passed.at)).toBe(waitedAt)
    // the guard's passes did not pass the step by themselves: hours of passing gates, still waiting until promoted
    expect(h.journal.ofType('gate.measured').filter((e) => e.data.guard === true).length).toBeGreaterThan(500)
  })

  it('gates that cannot be measured while guarding do not end the run or pause it again', async () => {
    const h = pauseStepAt50()
    h.source.script = () => (h.state().waiting ? transientError() : healthy())
    h.clock.at(3_600_000, () => h.inbox.post('promote'))
    const out = await h.start()
    expect(out.exitCode).toBe(0)
    const errors = h.journal.ofType('gate.measured').filter((e) => e.data.verdict === 'error' && e.data.step === 2)
    expect(errors.length).toBeGreaterThan(4)
    expect(h.journal.ofType('run.paused')).toHaveLength(0)
  })

  it('a failClosed gate that cannot be measured while guarding rolls back, as it does baking', async () => {
    const h = pauseStepAt50()
    h.config.gates!.checks[0] = {...h.config.gates!.checks[0]!, failClosed: true}
    h.source.script = () => (h.state().waiting ? transientError() : healthy())
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(out.state.reason).toMatch(/could not be measured 4 times in a row.*failClosed/)
  })

  it('paused before any traffic reaches gray: says there is nothing to guard, measures nothing, and waits for a request', async () => {
    const h = harness({}, guarding)
    h.deployer.durationMs = 10_000
    h.clock.at(1_000, () => h.inbox.post('pause'))
    h.clock.at(2 * 3_600_000, () => h.inbox.post('resume'))
    const out = await h.start()
    expect(out.exitCode).toBe(0)
    const guarded = h.journal.ofType('driver.guarding')
    expect(guarded.map((e) => e.data)).toEqual([{reason: expect.stringMatching(/^paused by oncall/), weightBp: 0, intervalMs: null, unmeasured: 'no traffic reaches gray (0%)'}])
    const resumed = h.journal.ofType('run.resumed')[0]!
    expect(h.journal.list.filter((e) => e.seq > guarded[0]!.seq && e.seq < resumed.seq).map((e) => e.type)).toEqual(['request.received'])
  })

  it('leave() makes a guarding driver detach at the hold (exit 4), as a signal of its own process does', async () => {
    const h = pauseStepAt50()
    const driver = h.driver()
    h.clock.at(3_600_000, () => {
      driver.leave()
      void driver.request('pause', {reason: 'interrupted by SIGINT'})
    })
    await h.begin()
    const out = await h.clock.run(driver.drive())
    expect(out.exitCode).toBe(4)
    expect(out.state.status).toBe('paused')
    expect(h.journal.list.at(-1)).toMatchObject({type: 'driver.detached', data: {reason: 'interrupted by SIGINT'}})
  })

  it('without guardWaits the driver leaves at the wait as it always did', async () => {
    const h = harness()
    h.config.steps[2] = {weight: 50, bakeMs: 0, pause: true}
    const out = await h.start()
    expect(out.exitCode).toBe(4)
    expect(h.journal.ofType('driver.guarding')).toHaveLength(0)
    expect(h.journal.list.at(-1)?.type).toBe('driver.detached')
  })

  it('a driver that takes a guarded wait over guards it on in the same rhythm, and journals its guard once', async () => {
    const h = pauseStepAt50()
    const first = h.driver()
    h.clock.at(3_600_000, () => first.leave())
    await h.begin()
    expect((await h.clock.run(first.drive())).exitCode).toBe(4)
    h.clock.at(7_200_000, () => h.inbox.post('rollback', {reason: 'enough'}))
    const out = await h.resume()
    expect(out.exitCode).toBe(3)
    expect(h.journal.ofType('driver.guarding')).toHaveLength(2)
  })
})
