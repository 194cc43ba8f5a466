// The driver with a judge: sequential check: contiguous windows, a decisive rollback,
// and evidence that lives in the journal, so a driver that takes over continues it.
import {describe, expect, it} from 'vitest'

import type {Check} from '../../../src/core/config/model.js'
import {judge} from '../../../src/core/gates/judge.js'
import type {Evidence} from '../../../src/core/gates/sequential.js'
import type {JournalEvent, MeasureRequest, Measurement} from '../../../src/core/ports.js'
import {replay} from '../../../src/core/run/state.js'
import {check} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

const seqCheck = (over: Partial<Check> = {}): Check => check({judge: 'sequential', max: 0.5, baseline: {maxIncrease: 1, minDelta: 0}, minSamples: 0, ...over})

type Harness = ReturnType<typeof harness>

/** Counts proportional to the window: 200 requests/s split by the weight in force (or `share`), gray at `grayRate`, stable at 1%. */
function traffic(h: Harness, grayRate: number, share?: number) {
  return (req: MeasureRequest): Measurement => {
    const seconds = req.windowMs / 1000
    const s = share ?? (h.state().applied?.weightBp ?? 0) / 10_000
    const total = Math.round(200 * seconds * (req.cohort === 'gray' ? s : 1 - s))
    const rate = req.cohort === 'gray' ? grayRate : 0.01
    const bad = Math.round(total * rate)
    return {value: total > 0 ? bad / total : null, samples: total, raw: {errors: bad, total}, query: 'q'}
  }
}

const measured = (events: readonly JournalEvent[]) => events.filter((e) => e.type === 'gate.measured')

describe('run engine: judge: sequential', () => {
  it('reads contiguous, non-overlapping windows: each since the last measurement, none before the step', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [seqCheck()]}})
    h.source.script = traffic(h, 0.01)
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    const gray = h.source.calls.filter((c) => c.cohort === 'gray')
    const starts = h.journal.ofType('gateway.publish.confirmed').filter((e) => e.data.purpose === 'step').map((e) => Date.parse(e.at))
    for (let i = 0; i < gray.length; i++) {
      const call = gray[i] as MeasureRequest
      const previous = gray[i - 1]
      const bake = Math.max(...starts.filter((t) => t < call.at))
      const from = previous && previous.at > bake ? previous.at : bake
      expect(call.windowMs).toBe(Math.min(300_000, call.at - from))
    }
    // every measurement journals the evidence so far, and it carries across steps
    const events = measured(h.journal.events())
    expect(events.every((e) => (e.data as {evidence?: Evidence}).evidence !== undefined)).toBe(true)
    const last = (events.at(-1)?.data as {evidence: Evidence}).evidence
    expect(last.gray.total).toBe(events.reduce((sum, e) => sum + ((e.data as {samples: number}).samples ?? 0), 0))
  })

  it('rolls back at the first decisive fail, without waiting for `failures` fails in a row', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [seqCheck({failures: 5})]}})
    h.source.script = traffic(h, 0.05)
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    const verdicts = measured(h.journal.events()).map((e) => e.data.verdict)
    expect(verdicts.filter((v) => v === 'fail')).toHaveLength(1)
    expect(verdicts.at(-1)).toBe('fail')
    expect(out.state.reason).toMatch(/^gate errors failed: regression: gray 5\.0% vs stable 0\.99%.*\(sequential test, α = 0\.01\)$/)
  })

  it('a driver that takes over continues the evidence exactly where the journal left it', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [seqCheck({max: undefined})]}})
    // a gray slightly worse than stable: evidence builds over many measurements
    h.source.script = traffic(h, 0.013)
    h.clock.at(200_000, () => h.inbox.post('pause'))
    const first = await h.start()
    expect(first.state.status).toBe('paused')
    const before = replay(h.journal.events()).gates.errors?.evidence as Evidence
    expect(before.intervals).toBeGreaterThan(0)
    const seen = h.journal.events().length
    h.inbox.post('resume')
    await h.resume()
    const after = measured(h.journal.events().slice(seen))
    expect(after.length).toBeGreaterThan(0)
    // the new driver's first measurement is the old evidence plus its interval, bit for bit
    const next = after[0] as JournalEvent
    const d = next.data as {value: number; samples: number; stableRaw: {errors: number; total: number}; evidence: Evidence}
    const then = replay(h.journal.events().filter((e) => e.seq < next.seq))
    const context = {weightBp: then.applied?.weightBp, step: then.stepIndex, steps: then.steps.length}
    const again = judge(seqCheck({max: undefined}), {value: d.value, samples: d.samples, raw: {}}, {value: d.stableRaw.errors / d.stableRaw.total, samples: d.stableRaw.total, raw: {}}, before, context)
    expect(again.evidence).toEqual(d.evidence)
    // and replaying the whole journal gives the last measurement's evidence
    expect(replay(h.journal.events()).gates.errors?.evidence).toEqual((measured(h.journal.events()).at(-1)?.data as {evidence: Evidence}).evidence)
  })

  it('a gray that gets no traffic (a crashed pool, a gateway ignoring the split) is a sample ratio mismatch, not "no errors"', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [seqCheck()]}})
    // from the second step on, the gateway keeps sending everything to stable
    h.source.script = traffic(h, 0, 0)
    const first = (req: MeasureRequest) => traffic(h, 0.01)(req)
    h.source.script = (req) => ((h.state().applied?.weightBp ?? 0) <= 100 ? first(req) : traffic(h, 0, 0)(req))
    const out = await h.start()
    expect(out.state.status).toBe('rolled_back')
    expect(out.state.reason).toMatch(/^gate errors failed: sample ratio mismatch: gray got 0\.0% of requests at a published 10%/)
    expect(out.state.stepIndex).toBe(1)
  })

  it('a gateway that sends gray far more than its weight is a mismatch when the policy has no rules, and not when rules may explain it', async () => {
    const run = async (rules: boolean) => {
      const base = harness()
      const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [seqCheck()]}, traffic: {...base.config.traffic, rules: rules ? base.config.traffic.rules : []}})
      // gray gets 90% of requests whatever the weight, both at 1% errors
      h.source.script = traffic(h, 0.01, 0.9)
      return h.start()
    }
    const bare = await run(false)
    expect(bare.state.status).toBe('rolled_back')
    expect(bare.state.reason).toMatch(/^gate errors failed: sample ratio mismatch: gray got 90% of requests at a published 1\.0% .*in gray's favour/)
    const withRules = await run(true)
    expect(withRules.state.status).toBe('completed')
  })
})
