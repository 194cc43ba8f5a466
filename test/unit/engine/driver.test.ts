import {describe, expect, it} from 'vitest'

import {MetricError} from '../../../src/core/errors.js'
import type {JournalEvent, JournalWriter, Policy} from '../../../src/core/ports.js'
import {RunDriver} from '../../../src/core/run/driver.js'
import {check, healthy, MemoryGateway, MemoryJournal, testActor, transientError} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

const bp = (...w: number[]) => w.map((x) => x * 100)

describe('run engine: the happy path', () => {
  it('deploys the gray pool, steps 1 → 10 → 50 → 100, completes and leaves every host on the new version', async () => {
    const h = harness()
    const out = await h.start()
    expect(out.exitCode).toBe(0)
    expect(out.state.status).toBe('completed')
    // first the gray pool leaves service (weight 0, no rules), then the steps, then the plain policy
    expect(h.gateway.weights()).toEqual([0, ...bp(1, 10, 50, 100), -1])
    expect(h.gateway.published[0]).toMatchObject({weightBp: 0, rules: [], gray: []})
    expect(h.gateway.published[0]!.stable.map((x) => x.address)).not.toContain('10.0.0.11:8080')
    expect([...h.deployer.versions.values()]).toEqual(['v2', 'v2', 'v2', 'v2'])
    // every step baked its full time and passed its gates at least minPasses times
    const started = h.journal.ofType('step.started').map((e) => Date.parse(e.at))
    const passed = h.journal.ofType('step.passed').map((e) => Date.parse(e.at))
    expect(passed).toHaveLength(4)
    h.config.steps.forEach((step, i) => expect(passed[i]! - started[i]!).toBeGreaterThanOrEqual(step.bakeMs))
    const passes = h.journal.ofType('gate.measured').filter((e) => e.data.verdict === 'pass')
    expect(passes.length).toBeGreaterThanOrEqual(4 * 3)
    // the final policy is plain: all hosts, no split, no rules
    expect(h.gateway.served?.mode).toBe('plain')
    expect(h.gateway.served?.stable).toHaveLength(4)
    expect(h.gateway.served?.rules).toEqual([])
  })

  it('journals seq +1 on every line and never publishes a step before the gray pool is healthy', async () => {
    const h = harness()
    await h.start()
    h.journal.list.forEach((e, i) => expect(e.seq).toBe(i + 1))
    const types = h.journal.types()
    const firstStepPublish = h.journal.list.findIndex((e) => e.type === 'gateway.publish.started' && e.data.purpose === 'step')
    expect(types.indexOf('host.deploy.succeeded')).toBeLessThan(firstStepPublish)
    expect(types.indexOf('gateway.publish.confirmed')).toBeLessThan(types.indexOf('host.deploy.started'))
    expect(h.gateway.published[1]!.gray.map((x) => x.address)).toEqual(['10.0.0.11:8080'])
  })

  it('warns nothing and simply bakes when no gates are configured', async () => {
    const h = harness({gates: undefined})
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('gate.measured')).toHaveLength(0)
  })

  it('never measures over a window reaching back before the current step began', async () => {
    const h = harness()
    await h.start()
    for (const call of h.source.calls) expect(call.windowMs).toBeLessThanOrEqual(300_000)
    const first = h.source.calls[0]!
    expect(first.windowMs).toBe(30_000)
  })
})

describe('run engine: gates', () => {
  it('rolls back after `failures` consecutive fails, traffic first, then hosts to the previous version', async () => {
    const h = harness()
    h.source.script = (req) => (req.check.name === 'errors' && req.at > h.clock.now() - 1 && h.state().stepIndex === 1 ? healthy(0.05) : healthy())
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(out.state.status).toBe('rolled_back')
    expect(out.state.reason).toMatch(/gate errors failed: 5% > max 1% \(2 consecutive fails\)/)
    expect(h.gateway.weights()).toEqual([0, ...bp(1, 10), 0, -1])
    expect(h.gateway.published.at(-2)!.rules).toEqual([])
    expect([...h.deployer.versions.values()]).toEqual(['v1', 'v1', 'v1', 'v1'])
    const fails = h.journal.ofType('gate.measured').filter((e) => e.data.verdict === 'fail')
    expect(fails).toHaveLength(2)
  })

  it('does not roll back on a single fail followed by a pass', async () => {
    const h = harness()
    let n = 0
    h.source.script = () => (++n === 2 ? healthy(0.05) : healthy())
    const out = await h.start()
    expect(out.state.status).toBe('completed')
  })

  it('rolls back on the first fail of a critical check', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({critical: true})]}})
    h.source.script = () => healthy(0.5)
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(h.journal.ofType('gate.measured')).toHaveLength(1)
    expect(out.state.reason).toMatch(/critical/)
  })

  it('never passes a step on no data: too few samples hold the run as inconclusive (exit 4)', async () => {
    const h = harness()
    h.source.script = () => healthy(0.001, 12)
    const out = await h.start()
    expect(out.exitCode).toBe(4)
    expect(out.state.status).toBe('paused')
    expect(out.state.reason).toMatch(/gates inconclusive: errors 0\/3 passes \(12 samples < 100 needed\)/)
    expect(h.journal.ofType('step.passed')).toHaveLength(0)
    expect(h.gateway.weights()).toEqual([0, ...bp(1)])
  })

  it.each([
    ['empty result', {value: null, samples: null, raw: {}}],
    ['NaN', {value: Number.NaN, samples: 500, raw: {}}],
    ['+Inf', {value: Number.POSITIVE_INFINITY, samples: 500, raw: {}}],
  ])('treats %s as no-data, and as a failure with noData: fail', async (_name, m) => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({noData: 'fail'})]}})
    h.source.script = () => m
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(out.state.reason).toMatch(/no data/)
  })

  it('holds after errorLimit errors in a row, or rolls back with failClosed', async () => {
    const held = harness()
    held.source.script = () => transientError()
    const a = await held.start()
    expect(a.state.status).toBe('paused')
    expect(a.state.reason).toMatch(/could not be measured 4 times in a row: source unavailable/)

    const closed = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({failClosed: true})]}})
    closed.source.script = () => transientError()
    const b = await closed.start()
    expect(b.state.status).toBe('rolled_back')
    expect(b.state.reason).toMatch(/failClosed/)
  })

  it('recovers from a few errors: they are retried at the next interval, not counted as passes', async () => {
    const h = harness()
    let n = 0
    h.source.script = () => (++n <= 3 ? new MetricError('timeout') : healthy())
    const out = await h.start()
    expect(out.state.status).toBe('completed')
  })

  it('judges against the stable baseline: fails only when worse by both the ratio and the delta', async () => {
    const baseline = {maxIncrease: 1.5, minDelta: 0.001}
    const worse = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({baseline})]}})
    worse.source.script = (req) => (req.cohort === 'gray' ? healthy(0.008) : healthy(0.002))
    expect((await worse.start()).state.status).toBe('rolled_back')

    const tiny = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({baseline})]}})
    tiny.source.script = (req) => (req.cohort === 'gray' ? healthy(0.0009) : healthy(0.0001))
    expect((await tiny.start()).state.status).toBe('completed')
  })
})

describe('run engine: baseline at full weight', () => {
  it('judges on the limit alone at 100%, where the stable cohort takes no traffic', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check({baseline: {maxIncrease: 1.5, minDelta: 0.001}})]}})
    h.source.script = (req) => (req.cohort === 'stable' && h.state().stepIndex === 3 ? {value: null, samples: 0, raw: {}} : healthy())
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    const atFull = h.source.calls.filter((c) => c.cohort === 'stable' && c.at > Date.parse(h.journal.ofType('step.started')[3]!.at))
    expect(atFull).toHaveLength(0)
  })
})

describe('run engine: people steering the run', () => {
  it('waits at a pause step (exit 4) and goes on after gray promote', async () => {
    const h = harness()
    h.config.steps[2] = {weight: 50, bakeMs: 0, pause: true}
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(first.state.status).toBe('waiting')
    expect(h.gateway.weights().at(-1)).toBe(5000)
    h.inbox.post('promote')
    const second = await h.resume()
    expect(second.state.status).toBe('completed')
    expect(h.journal.ofType('step.started').map((e) => e.data.index)).toEqual([0, 1, 2, 3])
  })

  it('a pause step with no bake waits as soon as its weight is confirmed, measuring nothing at it first', async () => {
    const h = harness()
    h.config.steps[2] = {weight: 50, bakeMs: 0, pause: true}
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(first.state.status).toBe('waiting')
    const confirmed = h.journal.ofType('gateway.publish.confirmed').find((e) => e.data.purpose === 'step' && e.data.step === 2)!
    const waiting = h.journal.ofType('step.waiting')
    expect(waiting.map((e) => e.data.index)).toEqual([2])
    // the very next decision after the confirmation is the wait: no bake, no measurement, no time passed
    expect(h.journal.list.filter((e) => e.seq > confirmed.seq && e.seq < waiting[0]!.seq).map((e) => e.type)).toEqual([])
    expect(waiting[0]!.at).toBe(confirmed.at)
    expect(h.journal.ofType('gate.measured').filter((e) => e.data.step === 2)).toHaveLength(0)
    expect(h.journal.ofType('step.passed').map((e) => e.data.index)).toEqual([0, 1])
    // promote lets it go on: the step passes by promote, then the last step bakes as usual
    h.inbox.post('promote')
    const second = await h.resume()
    expect(second.state.status).toBe('completed')
    expect(h.journal.ofType('step.passed').map((e) => [e.data.index, e.data.by])).toEqual([[0, 'gates'], [1, 'gates'], [2, 'promote'], [3, 'gates']])
  })

  it('a pause step with a bake bakes it in full (gates passing), then waits', async () => {
    const h = harness()
    h.config.steps[2] = {weight: 50, bakeMs: 120_000, pause: true}
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(first.state.status).toBe('waiting')
    const confirmed = h.journal.ofType('gateway.publish.confirmed').find((e) => e.data.purpose === 'step' && e.data.step === 2)!
    const passed = h.journal.ofType('step.passed').find((e) => e.data.index === 2)!
    const waiting = h.journal.ofType('step.waiting')[0]!
    expect(passed.data.by).toBe('gates')
    expect(Date.parse(passed.at) - Date.parse(confirmed.at)).toBeGreaterThanOrEqual(120_000)
    expect(waiting.seq).toBeGreaterThan(passed.seq)
    expect(h.journal.ofType('gate.measured').filter((e) => e.data.step === 2 && e.data.verdict === 'pass').length).toBeGreaterThanOrEqual(3)
  })

  it('a promote that arrives during a bake lets the step go on at once', async () => {
    const h = harness()
    h.clock.at(60_000, () => h.inbox.post('promote'))
    await h.start()
    const passed = h.journal.ofType('step.passed')
    expect(passed[0]!.data.by).toBe('promote')
    expect(Date.parse(passed[0]!.at) - Date.parse(h.journal.ofType('step.started')[0]!.at)).toBeLessThan(300_000)
  })

  it('a request poll that fails (its state unreachable) is no unhandled rejection: the run goes on and a later poll takes the request', async () => {
    const h = harness()
    const peek = h.inbox.peek.bind(h.inbox)
    let failing = false
    h.inbox.peek = async () => {
      if (failing) throw new Error('PostgreSQL is unreachable')
      return peek()
    }
    const stray: unknown[] = []
    const onStray = (reason: unknown) => stray.push(reason)
    process.on('unhandledRejection', onStray)
    try {
      h.clock.at(60_000, () => {
        failing = true
        h.inbox.post('promote')
        failing = false
      })
      // the promote stays in the inbox; the next arrival takes both
      h.clock.at(90_000, () => h.inbox.post('pause'))
      const outcome = await h.start()
      await new Promise((resolve) => setImmediate(resolve))
      expect(stray).toEqual([])
      expect(outcome.exitCode).toBe(4)
      expect(h.journal.ofType('request.received').map((e) => e.data.kind)).toEqual(['promote', 'pause'])
    } finally {
      process.off('unhandledRejection', onStray)
    }
  })

  it('a request is acked only once journaled: a driver that dies before its ack leaves it to the next, which carries it out once', async () => {
    const h = harness()
    // the first driver journals the pause, then dies before its ack (its ack never happens)
    const ack = h.inbox.ack.bind(h.inbox)
    h.inbox.ack = async () => {
      throw new Error('killed before the ack')
    }
    h.clock.at(60_000, () => h.inbox.post('pause'))
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(h.journal.ofType('request.received').map((e) => e.data.kind)).toEqual(['pause'])
    // not acked: it still waits, and a later poll of the same driver did not carry it out again
    expect(h.inbox.waiting().map((r) => r.kind)).toEqual(['pause'])
    expect(h.journal.ofType('run.paused')).toHaveLength(1)

    // the successor finds it journaled: it acks it without a second request.received or pause
    h.inbox.ack = ack
    h.inbox.post('resume')
    const second = await h.resume()
    expect(second.state.status).toBe('completed')
    expect(h.journal.ofType('request.received').map((e) => e.data.kind)).toEqual(['pause', 'resume'])
    expect(h.journal.ofType('run.paused')).toHaveLength(1)
    expect(h.inbox.waiting()).toEqual([])
    expect(h.inbox.acked.map((r) => r.kind)).toEqual(['pause', 'resume'])
  })

  it('a request whose journaling fails stays in the inbox, not acked, for whoever drives next', async () => {
    const h = harness()
    const append = h.journal.append.bind(h.journal)
    let cutOff = false
    h.journal.append = async (type, data) => {
      if (cutOff) throw new Error('the lease is lost')
      return append(type, data)
    }
    h.clock.at(60_000, () => {
      cutOff = true
      h.inbox.post('rollback')
    })
    await expect(h.start()).rejects.toThrow(/lease is lost/)
    expect(h.journal.ofType('request.received')).toEqual([])
    expect(h.inbox.acked).toEqual([])
    expect(h.inbox.waiting().map((r) => r.kind)).toEqual(['rollback'])

    cutOff = false
    const next = await h.resume()
    expect(next.state.status).toBe('rolled_back')
    expect(h.journal.ofType('request.received').map((e) => e.data.kind)).toEqual(['rollback'])
    expect(h.inbox.waiting()).toEqual([])
  })

  it('a driver that dies between a request and its effect: the successor journals the effect once, from the state left', async () => {
    const h = harness()
    const append = h.journal.append.bind(h.journal)
    let dies = true
    h.journal.append = async (type, data) => {
      if (dies && type === 'run.paused') throw new Error('killed after request.received')
      return append(type, data)
    }
    h.clock.at(60_000, () => h.inbox.post('pause'))
    await expect(h.start()).rejects.toThrow(/killed after request.received/)
    expect(h.journal.ofType('request.received').map((e) => e.data.kind)).toEqual(['pause'])
    expect(h.journal.ofType('run.paused')).toEqual([])
    expect(h.inbox.waiting().map((r) => r.kind)).toEqual(['pause'])

    dies = false
    const next = await h.resume()
    expect(next.exitCode).toBe(4)
    expect(h.journal.ofType('request.received')).toHaveLength(1)
    const paused = h.journal.ofType('run.paused')
    expect(paused.map((e) => e.data)).toEqual([{reason: 'paused by oncall@test-host (pid 99)', cause: 'request', request: 'r1'}])
    expect(paused[0]!.seq).toBeGreaterThan(h.journal.ofType('driver.attached').at(-1)!.seq)
    expect(h.inbox.waiting()).toEqual([])
  })

  it('a person who gives a request id again in the same run is heard again: a request is known by its id and time', async () => {
    const h = harness()
    h.clock.at(60_000, () => h.inbox.post('pause', {id: 'ops-1', at: new Date(h.clock.now()).toISOString()}))
    expect((await h.start()).exitCode).toBe(4)
    h.inbox.post('resume', {id: 'ops-1', at: new Date(h.clock.now() + 1).toISOString()})
    const out = await h.resume()
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('request.received').map((e) => `${String(e.data.id)} ${String(e.data.kind)}`)).toEqual(['ops-1 pause', 'ops-1 resume'])
  })

  it('requests from this process get ids that never repeat', async () => {
    const h = harness()
    const d = h.driver()
    await h.begin()
    await Promise.all([d.request('pause'), d.request('resume'), d.request('pause')])
    const ids = h.journal.ofType('request.received').map((e) => String(e.data.id))
    expect(ids).toHaveLength(3)
    expect(new Set(ids).size).toBe(3)
  })

  it('promote --full skips the remaining steps and completes', async () => {
    const h = harness()
    h.clock.at(60_000, () => h.inbox.post('promote', {full: true}))
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    expect(h.gateway.weights()).toEqual([0, ...bp(1, 100), -1])
    expect([...h.deployer.versions.values()].every((v) => v === 'v2')).toBe(true)
  })

  it('pause holds at the current weight (exit 4); resume drives on to completion', async () => {
    const h = harness()
    h.clock.at(700_000, () => h.inbox.post('pause'))
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(first.state.status).toBe('paused')
    const weightWhenPaused = h.gateway.weights().at(-1)
    h.inbox.post('resume')
    const second = await h.resume()
    expect(second.state.status).toBe('completed')
    expect(weightWhenPaused).toBe(1000)
  })

  it('rollback requested while baking: weight 0 within a second, then hosts reverted', async () => {
    const h = harness()
    h.clock.at(400_000, () => h.inbox.post('rollback', {reason: 'users report checkout errors'}))
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(out.state.reason).toBe('users report checkout errors')
    const zero = h.journal.ofType('gateway.publish.confirmed').find((e) => e.data.purpose === 'rollback')!
    expect(Date.parse(zero.at) - Date.parse('2026-11-22T10:00:00Z') - 400_000).toBeLessThan(1000)
    expect([...h.deployer.versions.values()].every((v) => v === 'v1')).toBe(true)
  })

  it('a request left in the inbox for an earlier run is not carried out by the next one', async () => {
    const h = harness()
    h.clock.at(400_000, () => h.inbox.post('rollback', {runId: 'an-earlier-run', reason: 'meant for the last release'}))
    const out = await h.start()
    expect(out.exitCode).toBe(0)
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('rollback.started')).toHaveLength(0)
    expect(h.journal.ofType('request.received')).toHaveLength(0)
  })

  it('a request posted for this run is carried out', async () => {
    const h = harness()
    h.clock.at(400_000, () => h.inbox.post('rollback', {runId: h.journal.ofType('run.started')[0]!.data.runId as string, reason: 'this one'}))
    const out = await h.start()
    expect(out.exitCode).toBe(3)
    expect(out.state.reason).toBe('this one')
  })

  it('rollback requested while deploying the gray pool cancels the deploy and never publishes a gray weight', async () => {
    const h = harness()
    h.deployer.durationMs = 60_000
    h.deployer.onDeploy = (req) => {
      if (req.version === 'v2') h.clock.at(h.clock.elapsed + 5_000, () => h.inbox.post('rollback'))
    }
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(h.journal.ofType('host.deploy.failed')[0]!.data.cancelled).toBe(true)
    expect(h.gateway.published.every((p) => p.weightBp === 0)).toBe(true)
    expect(h.deployer.versions.get('10.0.0.11:8080')).toBe('v1')
  })

  it('rollback requested while a gate is being measured does not wait for the slow source', async () => {
    const h = harness()
    h.source.script = (req) =>
      new Promise((resolve) => {
        // a source that answers only after ten minutes
        void h.clock.sleep(600_000).then(() => resolve(healthy()))
        if (h.source.calls.length === 2) h.clock.at(h.clock.elapsed + 2_000, () => h.inbox.post('rollback'))
        void req
      })
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    const requested = h.journal.ofType('request.received')[0]!
    const zero = h.journal.ofType('gateway.publish.confirmed').find((e) => e.data.purpose === 'rollback')!
    expect(Date.parse(zero.at) - Date.parse(requested.at)).toBeLessThan(1000)
  })

  it('only rollback may follow once a rollback has begun', async () => {
    const h = harness()
    h.clock.at(400_000, () => {
      h.inbox.post('rollback')
      h.inbox.post('promote', {full: true})
      h.inbox.post('resume')
    })
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(h.journal.ofType('run.promoted')).toHaveLength(0)
  })
})

describe('run engine: failures of the world', () => {
  it('retries a failed deploy, then holds naming the host; resume retries and goes on', async () => {
    const h = harness()
    h.deployer.failures.set('10.0.0.11:8080', 2)
    const first = await h.start()
    expect(first.exitCode).toBe(4)
    expect(first.state.reason).toMatch(/deploy of v2 failed on g1/)
    // only the drain that took g1 out of service: no gray weight was ever published
    expect(h.gateway.weights()).toEqual([0])
    h.inbox.post('resume')
    const second = await h.resume()
    expect(second.state.status).toBe('completed')
  })

  it('retries a publish the gateway refused for a moment; never advances on an unconfirmed publish', async () => {
    const h = harness()
    h.gateway.failNext = 2
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('gateway.publish.failed')).toHaveLength(2)
  })

  it('holds when the gateway rejects the policy for good', async () => {
    const h = harness()
    h.gateway.failPermanently = true
    const out = await h.start()
    expect(out.exitCode).toBe(4)
    expect(out.state.reason).toMatch(/gateway did not take the policy/)
    expect(h.journal.ofType('step.passed')).toHaveLength(0)
  })

  it('a rollback publish keeps trying until the gateway confirms it', async () => {
    const h = harness()
    h.clock.at(400_000, () => {
      h.inbox.post('rollback')
      h.gateway.failNext = 12
    })
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(h.journal.ofType('gateway.publish.failed').filter((e) => e.data.purpose === 'rollback')).toHaveLength(12)
    expect(h.gateway.served?.weightBp).toBe(0)
  })

  it('with no previous version known, a rollback moves traffic and leaves the hosts, saying so', async () => {
    const h = harness()
    h.clock.at(400_000, () => h.inbox.post('rollback'))
    const out = await h.start('v2', null)
    expect(out.state.status).toBe('rolled_back')
    expect(out.state.warnings.join(' ')).toMatch(/no previous version is known/)
    // it names what to do, not a flag `gray rollback` does not have
    expect(out.state.warnings.join(' ')).toMatch(/g1 keep running v2: deploy the version they ran before to them by hand/)
    expect(out.state.warnings.join(' ')).not.toMatch(/pass --previous-version/)
    expect(h.gateway.served?.weightBp).toBe(0)
    expect(h.gateway.served?.mode).toBe('split')
  })
})

describe('run engine: hosts and traffic are separate axes', () => {
  it('converts stable hosts before a step applies its weight, draining them first', async () => {
    const h = harness()
    h.config.steps[1] = {...h.config.steps[1]!, hosts: {count: 1}}
    h.config.steps[2] = {...h.config.steps[2]!, hosts: {percent: 60}}
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    const at10 = h.gateway.published.find((p) => p.weightBp === 1000)!
    expect(at10.gray.map((x) => x.address)).toEqual(['10.0.0.11:8080', '10.0.0.21:8080'])
    expect(at10.stable.map((x) => x.address)).toEqual(['10.0.0.22:8080', '10.0.0.23:8080'])
    const at50 = h.gateway.published.find((p) => p.weightBp === 5000)!
    expect(at50.gray).toHaveLength(3)
    // a host leaves the stable upstream before its deploy starts
    const drains = h.journal.ofType('gateway.publish.started').filter((e) => e.data.purpose === 'drain')
    expect(drains).toHaveLength(3)
    expect(drains[0]!.data.gray).toEqual([])
    expect(drains[1]!.data.stable).not.toContain('10.0.0.21:8080')
  })
})

/** A journal that dies (as kill -9 would) after a number of appends; a new view continues the same file. */
class DyingJournal implements JournalWriter {
  dead = false
  constructor(
    private readonly base: MemoryJournal,
    private left: number,
  ) {}
  async append(type: string, data: Record<string, unknown>): Promise<JournalEvent> {
    if (this.dead || this.left-- <= 0) {
      this.dead = true
      throw new Error('killed')
    }
    return this.base.append(type, data)
  }
  events() {
    return this.base.events()
  }
}

describe('run engine: taken over after a crash at any journal point', () => {
  it('finishes every run exactly once: no step repeated or skipped, no finished host deployed twice', async () => {
    const reference = harness()
    await reference.start()
    // the driver's own appends (run.started is written before it drives)
    const total = reference.journal.list.length - 1
    const points = [...new Set(Array.from({length: 40}, (_, i) => Math.floor((i * (total - 1)) / 39)))]
    for (const point of points) {
      const h = harness()
      await h.begin()
      const dying = new DyingJournal(h.journal, point)
      const first = new RunDriver({config: h.config, journal: dying, gateway: h.gateway, deployer: h.deployer, sources: {m: h.source}, clock: h.clock, actor: testActor})
      await expect(h.clock.run(first.drive())).rejects.toThrow('killed')
      const out = await h.resume()
      expect(out.state.status, `killed after event ${point}`).toBe('completed')
      const steps = h.journal.ofType('step.started').map((e) => e.data.index)
      expect(steps, `killed after event ${point}`).toEqual([0, 1, 2, 3])
      // a host is deployed again only if its deploy was in flight when the driver died
      for (const address of h.deployer.versions.keys()) {
        const confirmed = h.journal.ofType('host.deploy.succeeded').filter((e) => e.data.host === address && e.data.version === 'v2')
        expect(confirmed.length, `${address} after kill at ${point}`).toBe(1)
      }
      expect([...h.deployer.versions.values()].every((v) => v === 'v2')).toBe(true)
    }
  })

  it('a rollback interrupted by a crash is finished by the next driver', async () => {
    const reference = harness()
    reference.clock.at(400_000, () => reference.inbox.post('rollback'))
    await reference.start()
    const startAt = reference.journal.list.findIndex((e) => e.type === 'rollback.started')
    for (let point = startAt; point < reference.journal.list.length - 1; point++) {
      const h = harness()
      await h.begin()
      h.clock.at(400_000, () => h.inbox.post('rollback'))
      const dying = new DyingJournal(h.journal, point)
      const first = new RunDriver({config: h.config, journal: dying, gateway: h.gateway, deployer: h.deployer, sources: {m: h.source}, clock: h.clock, inbox: h.inbox, actor: testActor})
      await expect(h.clock.run(first.drive())).rejects.toThrow('killed')
      const out = await h.resume()
      expect(out.state.status).toBe('rolled_back')
      expect(h.gateway.served?.weightBp).toBe(0)
      expect([...h.deployer.versions.values()].every((v) => v === 'v1')).toBe(true)
    }
  })
})

describe('run engine: a gateway fleet whose instances disagree', () => {
  it('does not advance past a step while one instance keeps serving the old revision, and names it', async () => {
    const {FleetGateway} = await import('../../../src/adapters/gateways/fleet.js')
    const h = harness()
    const edge1 = new MemoryGateway(h.clock)
    // edge-2 takes the first publishes, then its reload silently stops: it answers with what it served before
    class Lagging extends MemoryGateway {
      frozenAfter = 2
      override async publish(policy: Policy) {
        if (this.published.length >= this.frozenAfter && this.served) return {revision: this.served.revision, weightBp: this.served.weightBp, mode: this.served.mode}
        return super.publish(policy)
      }
    }
    const edge2 = new Lagging(h.clock)
    const fleet = new FleetGateway([{name: 'edge-1', gateway: edge1}, {name: 'edge-2', gateway: edge2}], {attempts: 1, baseDelayMs: 1, maxDelayMs: 1})
    await h.begin()
    const driver = new RunDriver({config: h.config, journal: h.journal, gateway: fleet, deployer: h.deployer, sources: {m: h.source}, clock: h.clock, inbox: h.inbox, actor: testActor, options: {}})
    const out = await h.clock.run(driver.drive())
    // edge-2 confirmed the drain (0) and the 1% step, then stayed on 1%
    expect(edge2.weights()).toEqual([0, ...bp(1)])
    // edge-1 took 10% (each retry asks it again), so the instances disagree
    expect(edge1.weights().slice(0, 3)).toEqual([0, ...bp(1, 10)])
    expect(edge1.served?.weightBp).toBe(1000)
    // the run holds (exit 4) at step 1, naming the lagging instance and what it serves
    expect(out.exitCode).toBe(4)
    expect(out.state.status).toBe('paused')
    expect(out.state.reason).toMatch(/confirmed on 1 of 2 memory instances \(edge-1\), not on edge-2 \(edge-2: serves revision \S+, not \S+\)/)
    // step 0 passed; step 1's 10% was never confirmed, it never passed, and no later step began
    expect(h.journal.ofType('step.passed').map((e) => e.data.index)).toEqual([0])
    expect(h.journal.ofType('step.started').map((e) => e.data.index)).toEqual([0, 1])
    expect(h.journal.ofType('gateway.publish.confirmed').map((e) => e.data.weightBp)).toEqual([0, 100])
    const failed = h.journal.ofType('gateway.publish.failed')
    expect(failed.length).toBeGreaterThan(1)
    for (const e of failed) expect(e.data).toMatchObject({purpose: 'step', permanent: false, error: expect.stringContaining('not on edge-2')})
  })
})
