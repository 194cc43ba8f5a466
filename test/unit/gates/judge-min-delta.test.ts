// judge: sequential honours baseline.minDelta: gray is no worse while its error rate is at
// most max(stable × maxIncrease, stable + minDelta). Seeded simulations of whole runs.
import {describe, expect, it} from 'vitest'

import type {Check} from '../../../src/core/config/model.js'
import {judge, type Judgement} from '../../../src/core/gates/judge.js'
import {addDeltaInterval, deltaLogE, unpackLl, type Evidence} from '../../../src/core/gates/sequential.js'
import type {Measurement} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'

function rng(seed: number): () => number {
  let a = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
/** Poisson(mean) by inversion: the error counts of one interval. */
function poisson(u: () => number, mean: number): number {
  let k = 0
  let p = Math.exp(-mean)
  let cdf = p
  const x = u()
  while (x > cdf && k < 100_000) {
    k++
    p *= mean / k
    cdf += p
  }
  return k
}

const m = (bad: number, total: number): Measurement => ({value: total > 0 ? bad / total : null, samples: total, raw: {}})
const ALPHA = 0.05
// stable at 0.1% errors, minDelta 0.5%: gray may be at 0.6% (6× stable) and still be no worse
const STABLE = 0.001
const MIN_DELTA = 0.005
const c = (minDelta: number): Check => check({judge: 'sequential', max: undefined, baseline: {maxIncrease: 1.2, minDelta}, alpha: ALPHA, minSamples: 0})

/** One hour at 10% share, 200 requests/s, 10 s intervals; stable's rate wanders ×0.5–×2 per interval. Returns the interval of the rollback, or null. */
function simulate(seed: number, grayRate: (stable: number) => number, check: Check): {at: number | null; last: Judgement} {
  const u = rng(seed)
  let evidence: Evidence | null = null
  let last: Judgement | null = null
  for (let i = 0; i < 360; i++) {
    const ng = 200
    const ns = 1800
    const ps = STABLE * 2 ** (2 * u() - 1)
    const j = judge(check, m(poisson(u, ng * grayRate(ps)), ng), m(poisson(u, ns * ps), ns), evidence)
    evidence = j.evidence ?? evidence
    last = j
    if (j.verdict === 'fail') return {at: i, last: j}
  }
  return {at: null, last: last as Judgement}
}

describe('judge: sequential with baseline.minDelta', () => {
  it('each λ’s factor has expectation at most 1 at the null’s edge, on either side of it (exact, by summing the Poisson pmfs)', () => {
    const pmf = (mean: number, k: number) => Math.exp(-mean + k * Math.log(mean) - lgamma(k + 1))
    const [ng, ns, delta, r] = [200, 1800, 0.005, 1.2]
    // below 2.5% stable, minDelta binds (gray at stable + 0.5%); above, the ratio does (gray at 1.2 × stable)
    for (const ps of [0.0001, 0.001, 0.01, 0.05, 0.1]) {
      const pg = Math.max(r * ps, ps + delta)
      let mean = new Array<number>(18).fill(0)
      for (let x = 0; x < 250; x++) {
        for (let y = 0; y < 500; y++) {
          const p = pmf(ng * pg, x) * pmf(ns * ps, y)
          if (p < 1e-300) continue
          const ll = addDeltaInterval([], r, delta, {bad: x, total: ng}, {bad: y, total: ns})
          mean = mean.map((v, k) => v + p * Math.exp(ll[k] as number))
        }
      }
      for (const v of mean) expect(v).toBeLessThan(1 + 1e-3)
      // and it bets: somewhere on the grid the factor is not just 1 in every case
      expect(Math.min(...mean)).toBeLessThan(0.999)
    }
  })

  it('stable’s rate moving across minDelta / (maxIncrease − 1) between intervals: still at most α', () => {
    // a gray always at the edge, max(1.2 × stable, stable + 0.5%), while stable alternates between 0.1% and 5%
    let rolled = 0
    for (let seed = 0; seed < 100; seed++) {
      const u = rng(5000 + seed)
      let evidence: Evidence | null = null
      for (let i = 0; i < 240; i++) {
        const ps = i % 2 === 0 ? 0.001 : 0.05
        const pg = Math.max(1.2 * ps, ps + MIN_DELTA)
        const j = judge(c(MIN_DELTA), m(poisson(u, 200 * pg), 200), m(poisson(u, 1800 * ps), 1800), evidence)
        evidence = j.evidence ?? evidence
        if (j.verdict === 'fail') {
          rolled++
          break
        }
      }
    }
    // α·100 = 5
    expect(rolled).toBeLessThanOrEqual(5)
  })

  it(`a gray just under stable + minDelta (six times stable's rate) is rolled back in at most α = ${ALPHA} of 150 seeded runs; without minDelta, in nearly all`, () => {
    const under = (ps: number) => ps + MIN_DELTA * 0.98
    let rolled = 0
    for (let seed = 0; seed < 150; seed++) if (simulate(seed, under, c(MIN_DELTA)).at !== null) rolled++
    // α·150 = 7.5; the test is conservative at the null's edge (2 of 300 when this was written)
    expect(rolled).toBeLessThanOrEqual(7)
    let rolledWithout = 0
    for (let seed = 0; seed < 20; seed++) if (simulate(seed, under, c(0)).at !== null) rolledWithout++
    expect(rolledWithout).toBeGreaterThanOrEqual(19)
  })

  it('a gray clearly above it (stable + 3 × minDelta) is caught in every run, with a reason that names minDelta', () => {
    const above = (ps: number) => ps + 3 * MIN_DELTA
    const times: number[] = []
    for (let seed = 0; seed < 50; seed++) {
      const r = simulate(1000 + seed, above, c(MIN_DELTA))
      expect(r.at).not.toBeNull()
      times.push(r.at as number)
      if (seed === 0) {
        expect(r.last.reason).toMatch(/^regression: .* > 1\.2x allowed and more than 0\.50% above stable \(evidence/)
        expect(r.last.sequential?.delta?.minDelta).toBe(MIN_DELTA)
        expect(r.last.sequential?.delta?.e as number).toBeGreaterThanOrEqual(1 / ALPHA)
      }
    }
    times.sort((a, b) => a - b)
    // a median within 10 minutes (60 intervals)
    expect(times[25] as number).toBeLessThan(60)
  })

  it('where the ratio binds (stable at 1%, minDelta 0.1%), minDelta changes nothing a regression needs', () => {
    const at = (minDelta: number) => {
      const u = rng(3)
      let ev: Evidence | null = null
      for (let i = 0; i < 360; i++) {
        const j = judge(c(minDelta), m(poisson(u, 200 * 0.03), 200), m(poisson(u, 1800 * 0.01), 1800), ev)
        ev = j.evidence ?? ev
        if (j.verdict === 'fail') return i
      }
      return null
    }
    const [plain, withDelta] = [at(0), at(0.001)]
    expect(plain).not.toBeNull()
    expect(withDelta).not.toBeNull()
    expect((withDelta as number) - (plain as number)).toBeLessThanOrEqual(2)
  })

  it('no stable traffic adds nothing; a changed minDelta starts its test afresh', () => {
    const first = judge(c(MIN_DELTA), m(5, 200), m(2, 1800), null)
    expect(unpackLl(first.evidence?.delta?.ll)).toHaveLength(18)
    const none = judge(c(MIN_DELTA), m(5, 200), m(0, 0), first.evidence)
    expect(none.evidence?.delta).toEqual(first.evidence?.delta)
    const changed = judge(c(0.01), m(0, 200), m(0, 1800), first.evidence)
    expect(changed.evidence?.delta?.minDelta).toBe(0.01)
    expect(deltaLogE(unpackLl(changed.evidence?.delta?.ll))).toBeLessThan(0)
    expect(judge(c(0), m(5, 200), m(2, 1800), null).evidence?.delta).toBeUndefined()
  })
})

/** log Γ (Lanczos), for the exact Poisson pmf above. */
function lgamma(z: number): number {
  const g = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z)
  const x = z - 1
  let a = 0.99999999999980993
  for (let i = 0; i < 8; i++) a += (g[i] as number) / (x + i + 1)
  const t = x + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}
