// judge: sequential at its edges: what one interval's counts do to the run's evidence.
import {describe, expect, it} from 'vitest'

import type {Check} from '../../../src/core/config/model.js'
import {judge, type Judgement} from '../../../src/core/gates/judge.js'
import {addShare, sampleRatioLogE} from '../../../src/core/gates/sample-ratio.js'
import {addInterval, comparisonLogE, emptyEvidence, sloLogE, type Evidence} from '../../../src/core/gates/sequential.js'
import type {Measurement} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'

const seq = (over: Partial<Check> = {}): Check => check({judge: 'sequential', max: undefined, baseline: {maxIncrease: 1, minDelta: 0}, minSamples: 0, ...over})
const m = (bad: number, total: number): Measurement => ({value: total > 0 ? bad / total : null, samples: total, raw: {}})

/** Judges intervals one after another, each from the evidence the last one left, as the driver does from the journal. */
function run(c: Check, intervals: Array<[number, number, number, number]>): Judgement[] {
  let evidence: Evidence | null = null
  return intervals.map(([eg, ng, es, ns]) => {
    const j = judge(c, m(eg, ng), m(es, ns), evidence)
    evidence = j.evidence ?? evidence
    return j
  })
}

describe('judge: sequential', () => {
  it('no errors anywhere: passes with no evidence either way (e-value 1)', () => {
    const out = run(seq(), Array.from({length: 20}, () => [0, 600, 0, 5400] as [number, number, number, number]))
    for (const j of out) expect(j.verdict).toBe('pass')
    const last = out.at(-1) as Judgement
    expect(last.sequential?.comparison?.e).toBe(1)
    expect(last.evidence?.intervals).toBe(0)
    expect(last.evidence?.gray).toEqual({bad: 0, total: 12_000})
    expect(last.reason).toContain('evidence 1.0 of 100')
  })

  it('errors only in gray: a regression, rolled back decisively once the evidence reaches 1/α', () => {
    const out = run(seq(), Array.from({length: 30}, () => [1, 600, 0, 5400] as [number, number, number, number]))
    const fail = out.findIndex((j) => j.verdict === 'fail')
    expect(fail).toBeGreaterThan(0)
    expect(out.slice(0, fail).every((j) => j.verdict === 'pass')).toBe(true)
    const j = out[fail] as Judgement
    expect(j.decisive).toBe(true)
    expect(j.reason).toMatch(/^regression: gray .* vs stable 0\.0%/)
    expect(j.sequential?.comparison?.e).toBeGreaterThanOrEqual(100)
  })

  it('no stable traffic: the comparison learns nothing, gray still counts, and says why', () => {
    const before = run(seq(), [[5, 600, 40, 5400]])[0]?.evidence as Evidence
    const j = judge(seq(), m(30, 600), {value: null, samples: 0, raw: {}}, before)
    expect(j.verdict).toBe('pass')
    expect(j.reason).toContain('stable: no requests')
    expect(j.evidence?.ll).toEqual(before.ll)
    expect(j.evidence?.gray).toEqual({bad: 35, total: 1200})
    // stable not measured at all (100%: the driver drops the baseline) works the same way
    const at100 = judge({...seq({max: 0.1}), baseline: undefined}, m(30, 600), undefined, before)
    expect(at100.evidence?.ll).toEqual(before.ll)
    // the comparison already spent its half of α in this run: the SLO keeps its half
    expect(at100.sequential?.slo?.threshold).toBe(200)
  })

  it('a counter reset (negative counts) leaves the interval out and the evidence as it was', () => {
    const before = run(seq(), [[5, 600, 40, 5400]])[0]?.evidence as Evidence
    for (const gray of [m(-3, 600), {value: 0.01, samples: -600, raw: {}}, {value: 1.5, samples: 600, raw: {}}]) {
      const j = judge(seq(), gray, m(40, 5400), before)
      expect(j.verdict).toBe('no-data')
      expect(j.reason).toContain('left out of the evidence')
      expect(j.evidence).toEqual(before)
    }
    const stableReset = judge(seq(), m(5, 600), m(-40, 5400), before)
    expect(stableReset.evidence?.ll).toEqual(before.ll)
    expect(stableReset.reason).toContain('counter reset')
  })

  it('a split that changes: judged per interval at its own share, so pooled rates cannot mislead it', () => {
    // 50% share during a 10% incident, then 1% share at 0.1%: equal rates in each interval,
    // yet pooled gray looks 2.9x worse (300/3060 against 306/8940)
    const out = run(seq(), [[300, 3000, 300, 3000], [0, 60, 6, 5940]])
    const last = out.at(-1) as Judgement
    expect(last.verdict).toBe('pass')
    expect(last.sequential?.comparison?.ratio).toBeCloseTo(1, 1)
    expect(last.sequential?.comparison?.e).toBeLessThan(1)
  })

  it('an incident that hits both versions alike is no evidence against gray', () => {
    const out = run(seq(), [[1, 600, 9, 5400], [60, 600, 540, 5400], [1, 600, 9, 5400]])
    expect(out.every((j) => j.verdict === 'pass')).toBe(true)
    expect(out.at(-1)?.sequential?.comparison?.e).toBeLessThan(1)
  })

  it('a gray that is better than stable pushes the evidence down (the null is ρ ≤ maxIncrease)', () => {
    const out = run(seq({baseline: {maxIncrease: 1.5, minDelta: 0}}), Array.from({length: 10}, () => [3, 600, 54, 5400] as [number, number, number, number]))
    expect(out.at(-1)?.sequential?.comparison?.e).toBeLessThan(0.01)
  })

  it('the absolute max is its own SLO test, reported as an SLO breach, not a regression', () => {
    const c = seq({max: 0.01})
    const out = run(c, Array.from({length: 10}, () => [30, 600, 270, 5400] as [number, number, number, number]))
    const fail = out.find((j) => j.verdict === 'fail') as Judgement
    expect(fail.decisive).toBe(true)
    expect(fail.reason).toMatch(/^SLO breach: gray at 5\.0%, above max 1\.0%/)
    // both tests present: α is split, 1/(α/2) = 200 each
    expect(fail.sequential?.slo?.threshold).toBe(200)
    expect(fail.sequential?.comparison?.threshold).toBe(200)
  })

  it('a min check counts its complements: a crash-free rate below min is an SLO breach', () => {
    const c = seq({min: 0.99, baseline: undefined})
    const crashFree = (rate: number, n: number): Measurement => ({value: rate, samples: n, raw: {}})
    let evidence: Evidence | null = null
    let last: Judgement | undefined
    for (let i = 0; i < 10 && last?.verdict !== 'fail'; i++) {
      last = judge(c, crashFree(0.95, 600), undefined, evidence)
      evidence = last.evidence ?? evidence
    }
    expect(last?.reason).toMatch(/^SLO breach: gray at 95%, below min 99%/)
    expect(evidence?.gray.bad).toBe(30 * (evidence?.gray.total ?? 0) / 600)
  })

  it('holds (no-data) until minSamples requests have been seen, while the evidence still grows', () => {
    const out = run(seq({minSamples: 1000}), [[5, 600, 40, 5400], [5, 600, 40, 5400]])
    expect(out[0]?.verdict).toBe('no-data')
    expect(out[0]?.reason).toContain('600 samples so far < 1000 needed')
    expect(out[0]?.evidence?.intervals).toBe(1)
    expect(out[1]?.verdict).toBe('pass')
  })

  it('overdispersion divides the counts before they become evidence', () => {
    const counts: Array<[number, number, number, number]> = [[20, 600, 90, 5400], [22, 600, 95, 5400]]
    const plain = run(seq(), counts).at(-1) as Judgement
    const phi = run(seq({overdispersion: 4}), counts).at(-1) as Judgement
    let ll: number[] = []
    for (const [eg, ng, es, ns] of counts) ll = addInterval(ll, 1, {bad: eg / 4, total: ng / 4}, {bad: es / 4, total: ns / 4})
    expect(phi.sequential?.comparison?.e).toBeCloseTo(Math.exp(comparisonLogE({...emptyEvidence(1), ll})), 9)
    expect(phi.sequential?.comparison?.e).toBeLessThan(plain.sequential?.comparison?.e as number)
    expect(phi.reason).toContain('this interval gray 22/600, stable 95/5400')
  })

  it('a measurement without counts is no data, with the reason', () => {
    const j = judge(seq(), {value: 0.01, samples: null, raw: {}}, m(1, 100), null)
    expect(j.verdict).toBe('no-data')
    expect(j.reason).toContain('needs counts')
  })

  it('explains itself: ratio with its confidence sequence, evidence against 1/α, the counts', () => {
    const j = run(seq({baseline: {maxIncrease: 1.5, minDelta: 0}}), [[12, 600, 54, 5400]])[0] as Judgement
    expect(j.reason).toMatch(/^gray 2\.0% vs stable 1\.0%: ratio 2 \(99% CS [\d.]+–[\d.]+\), evidence [\d.]+ of 100; this interval gray 12\/600, stable 54\/5400$/)
    expect(j.sequential).toMatchObject({alpha: 0.01, comparison: {allowed: 1.5, threshold: 100}, interval: {gray: {bad: 12, total: 600}, stable: {bad: 54, total: 5400}}})
  })

  it('checks without judge keep the threshold rule', () => {
    const c = check({baseline: {maxIncrease: 1.5, minDelta: 0.001}})
    expect(judge(c, m(30, 1000), m(10, 1000))).toMatchObject({verdict: 'fail', reason: '3% > max 1%'})
    expect(judge(c, m(30, 1000), m(10, 1000)).evidence).toBeUndefined()
  })

  it('sample ratio: gray starved of its published weight is a mismatch; traffic rules that add to it are not', () => {
    let evidence: Evidence | null = null
    let j: Judgement | undefined
    for (let i = 0; i < 5; i++) {
      j = judge(seq(), m(0, 0), m(60, 6000), evidence, {weightBp: 1000})
      evidence = j.evidence ?? evidence
    }
    expect(j?.verdict).toBe('fail')
    expect(j?.decisive).toBe(true)
    expect(j?.reason).toMatch(/^sample ratio mismatch: gray got 0\.0% of requests at a published 10%/)
    // gray at 6% under a published 1% (testers routed by a rule): no mismatch, however long
    evidence = null
    for (let i = 0; i < 200; i++) {
      j = judge(seq(), m(4, 360), m(56, 5640), evidence, {weightBp: 100})
      evidence = j.evidence ?? evidence
    }
    expect(j?.verdict).toBe('pass')
    // without a weight in force (100%, or a publish pending) the check does not run
    expect(judge(seq(), m(0, 0), m(60, 6000), null, {}).evidence?.srm).toBeUndefined()
  })

  it('sample ratio, high side: without traffic rules, gray getting far more than its weight is a mismatch too', () => {
    const until = (context: {weightBp: number; rules?: boolean}, gray: number, stable: number) => {
      let evidence: Evidence | null = null
      for (let i = 0; i < 200; i++) {
        const j = judge(seq(), m(gray / 100, gray), m(stable / 100, stable), evidence, context)
        evidence = j.evidence ?? evidence
        if (j.verdict === 'fail') return {at: i, j}
      }
      return null
    }
    // a gateway that ignores the split in gray's favour: 97% of requests at a published 50%
    const caught = until({weightBp: 5000, rules: false}, 5820, 180)
    expect(caught?.j.decisive).toBe(true)
    expect(caught?.j.reason).toMatch(/^sample ratio mismatch: gray got 97% of requests at a published 50% .*in gray's favour/)
    expect(caught?.at as number).toBeLessThan(3)
    // the same with rules in the policy (or the driver not saying): rules may send gray that much
    expect(until({weightBp: 5000, rules: true}, 5820, 180)).toBeNull()
    expect(until({weightBp: 5000}, 5820, 180)).toBeNull()
    // at the edge of the tolerance (stable gets 30% where half of its 50% share is 25%): never
    expect(until({weightBp: 5000, rules: false}, 4200, 1800)).toBeNull()
    // 10% published, gray at 60%: stable gets 40%, under half its 90% share
    expect(until({weightBp: 1000, rules: false}, 3600, 2400)?.j.reason).toMatch(/gray got 60% of requests at a published 10%/)
    // the low side still works with both sides on
    expect(until({weightBp: 1000, rules: false}, 1, 5999)?.j.reason).toMatch(/a crashed gray pool/)
  })

  it('sample ratio, high side: segments per weight, and the two sides averaged', () => {
    let sr = addShare(undefined, 5000, 5000, 1000)
    sr = addShare(sr, 1000, 600, 5400)
    const low = sloLogE(1000, 6000, 0.75) + sloLogE(5400, 6000, 0.95)
    const high = sloLogE(5000, 6000, 0.75) + sloLogE(600, 6000, 0.55)
    expect(sampleRatioLogE(sr)).toBeCloseTo(low, 9)
    expect(sampleRatioLogE(sr, true)).toBeCloseTo(Math.log(0.5 * Math.exp(low) + 0.5 * Math.exp(high)), 9)
    // a journaled state from before the high side existed reads as no high-side evidence
    const old = {closedLogE: 0.5, weightBp: 1000, gray: 600, stable: 5400}
    expect(sampleRatioLogE(old, true)).toBeCloseTo(Math.log(0.5 * Math.exp(0.5 + sloLogE(5400, 6000, 0.95)) + 0.5 * Math.exp(sloLogE(600, 6000, 0.55))), 9)
  })

  it('sample ratio: each published weight is its own segment, their e-values multiply', () => {
    let sr = addShare(undefined, 1000, 500, 5500)
    sr = addShare(sr, 1000, 100, 5900)
    const first = sampleRatioLogE(sr)
    expect(first).toBeCloseTo(sloLogE(11_400, 12_000, 0.95), 9)
    sr = addShare(sr, 5000, 3000, 3000)
    expect(sampleRatioLogE(sr)).toBeCloseTo(first + sloLogE(3000, 6000, 0.75), 9)
  })

  it('a regression that starts at a later step is judged on that step too, not only against the healthy steps before it', () => {
    const c = seq({baseline: {maxIncrease: 1.5, minDelta: 0}})
    const healthy: [number, number, number, number] = [12, 1200, 108, 10_800]
    const bad: [number, number, number, number] = [36, 1200, 108, 10_800]
    const until = (steps: number) => {
      let evidence: Evidence | null = null
      for (let i = 0; i < 200; i++) {
        const [eg, ng, es, ns] = i < 60 ? healthy : bad
        const j = judge(c, m(eg, ng), m(es, ns), evidence, {step: i < 60 ? 1 : 2, steps})
        evidence = j.evidence ?? evidence
        if (j.decisive) return i - 60
      }
      return null
    }
    const oneComponent = until(1)
    const withSteps = until(4)
    expect(withSteps).not.toBeNull()
    expect(oneComponent).not.toBeNull()
    expect(withSteps as number).toBeLessThan((oneComponent as number) / 2)
  })
})
