// The sequential judge's statistics against numbers computed outside gray:
// test/unit/gates/ssrm-vectors.py (python3, standard library only, run once; its output
// is pasted below). See that script for the formulas and where they come from.
import {describe, expect, it} from 'vitest'

import {
  addInterval,
  comparisonLogE,
  emptyEvidence,
  GRID_HALF,
  GRID_STEP,
  logMixture,
  ratioEstimate,
  sloLogE,
  packLl,
  unpackLl,
  type Counts,
  type Evidence,
} from '../../../src/core/gates/sequential.js'

/** ssrm's sequential Bayes factors (Dirichlet-multinomial, default prior mean = null), two arms [gray, stable]. */
const SSRM = [
  {s: 0.5, concentration: 100, logBeta: -70.0027174768856, data: [[3, 2], [0, 0], [7, 4], [12, 5], [9, 9]], logBF: [-0.01970650579860056, -0.01970650579860056, -0.004977319292978066, 0.3156467140312298, 0.19679044544045432]},
  {s: 0.1, concentration: 100, logBeta: -32.679547939614906, data: [[1, 12], [4, 30], [0, 9], [6, 25]], logBF: [-0.045437733561609406, -0.20102047865057315, -0.19470681504240517, -0.21672208202371834]},
  {s: 0.2, concentration: 50, logBeta: -25.132156205619964, data: [[10, 10], [8, 12], [15, 20]], logBF: [1.173050652919848, 2.654952723318516, 6.410425818667576]},
]

/** gray's one-sided comparison e-value, recomputed in python from its definition: [gray errors, gray total, stable errors, stable total] per interval. */
const COMPARISON = [
  {r: 1, intervals: [[5, 600, 40, 5400], [7, 600, 52, 5400]], logE: -0.4348282136984365},
  {r: 1.5, intervals: [[3, 60, 55, 5940], [30, 600, 60, 5400], [160, 3000, 28, 3000]], logE: 37.2071927120993},
  {r: 2, intervals: [[0, 600, 60, 5400]], logE: -2.697712478721538},
]

const SLO = [
  {bad: 3, total: 100, limit: 0.01, logE: 0.8829198000499856},
  {bad: 30, total: 1000, limit: 0.01, logE: 11.602454656638548},
  {bad: 5, total: 1000, limit: 0.01, logE: -2.3752515048032343},
  {bad: 80, total: 1000, limit: 0.05, logE: 6.530654495079676},
]

const c = (bad: number, total: number): Counts => ({bad, total})

function evidenceOf(r: number, intervals: number[][]): Evidence {
  let ll: number[] = []
  for (const [x, ng, y, ns] of intervals) ll = addInterval(ll, r, c(x as number, ng as number), c(y as number, ns as number))
  return {...emptyEvidence(r), ll}
}

describe('sequential statistics against a peer: ssrm', () => {
  it.each(SSRM)('the grid mixture with a Beta prior reproduces ssrm\'s Bayes factor at every data point (s = $s)', ({s, concentration, logBeta, data, logBF}) => {
    // ssrm's prior Beta(c·s, c·(1−s)) over θ, written on gray's grid of log(ρ) = logit θ − logit s,
    // with the Jacobian θ(1−θ): the trapezoid rule on this smooth integrand is exact to ~1e-9
    const a = concentration * s
    const b = concentration * (1 - s)
    const weights = Array.from({length: 2 * GRID_HALF + 1}, (_, i) => {
      const theta = 1 / (1 + Math.exp(-(Math.log(s / (1 - s)) + (i - GRID_HALF) * GRID_STEP)))
      return Math.log(GRID_STEP) + a * Math.log(theta) + b * Math.log(1 - theta) - logBeta
    })
    let ll: number[] = []
    data.forEach(([x, y], k) => {
      ll = addInterval(ll, 1, c(x as number, 1000 * s), c(y as number, 1000 * (1 - s)))
      expect(logMixture(ll, weights)).toBeCloseTo(logBF[k] as number, 6)
    })
  })
})

describe('sequential statistics recomputed from their definitions', () => {
  it.each(COMPARISON)('the one-sided comparison e-value (r = $r)', ({r, intervals, logE}) => {
    // ℓ is kept to a micro-nat per interval (what the journal holds): within 2e-6 of python's exact value
    expect(Math.abs(comparisonLogE(evidenceOf(r, intervals)) - logE)).toBeLessThan(2e-6)
  })

  it.each(SLO)('the SLO e-value ($bad bad of $total against $limit)', ({bad, total, limit, logE}) => {
    expect(sloLogE(bad, total, limit)).toBeCloseTo(logE, 9)
  })

  it('adds nothing for an interval without errors or without one cohort', () => {
    expect(addInterval([], 1, c(0, 600), c(0, 5400))).toEqual([])
    expect(addInterval([], 1, c(5, 600), c(0, 0))).toEqual([])
    expect(addInterval([], 1, c(0, 0), c(5, 600))).toEqual([])
  })

  it('is the same whether counts arrive in one interval or many at the same share', () => {
    const one = evidenceOf(1, [[10, 1000, 90, 9000]])
    const many = evidenceOf(1, [[4, 400, 30, 3600], [6, 600, 60, 5400]])
    // each interval's ℓ is rounded to a micro-nat: two intervals may differ from one by 1e-6
    const [a, b] = [unpackLl(many.ll), unpackLl(one.ll)]
    a.forEach((l, i) => expect(Math.abs(l - (b[i] as number))).toBeLessThanOrEqual(1.5e-6))
  })

  it('a limit of 0 is breached by the first bad event; a limit of 1 never', () => {
    expect(sloLogE(0, 1000, 0)).toBe(0)
    expect(sloLogE(1, 1000, 0)).toBe(Number.POSITIVE_INFINITY)
    expect(sloLogE(1000, 1000, 1)).toBe(Number.NEGATIVE_INFINITY)
  })

  it('the confidence sequence holds the true ratio and narrows with data', () => {
    const few = ratioEstimate(evidenceOf(1, [[20, 1000, 90, 9000]]), 0.01)
    const many = ratioEstimate(evidenceOf(1, Array.from({length: 20}, () => [20, 1000, 90, 9000])), 0.01)
    for (const e of [few, many]) {
      expect(e.ratio).toBeCloseTo(2, 1)
      expect(e.low).toBeLessThan(2)
      expect(e.high).toBeGreaterThan(2)
    }
    expect((many.high as number) - (many.low as number)).toBeLessThan((few.high as number) - (few.low as number))
    expect(many.low).toBeGreaterThan(1.5)
  })
})

describe('the journaled form of ℓ', () => {
  it('packs exactly: the same doubles come back, so a takeover continues bit for bit', () => {
    const ev = evidenceOf(1.2, [[5, 600, 40, 5400], [30, 600, 60, 5400], [0, 600, 55, 5400]])
    const ll = unpackLl(ev.ll)
    const packed = packLl(ll)
    expect(unpackLl(packed)).toEqual(ll)
    expect(unpackLl(packed).every((x, i) => Object.is(x, ll[i]))).toBe(true)
    // about half the characters of the plain array
    expect(packed.length).toBeLessThan(0.65 * JSON.stringify(ll).length)
    expect(unpackLl('')).toEqual([])
    expect(unpackLl(undefined)).toEqual([])
    // journals written before packing hold plain arrays: read as they are
    expect(unpackLl([1.5, -2])).toEqual([1.5, -2])
    expect(comparisonLogE({...ev, ll: packed})).toBe(comparisonLogE({...ev, ll}))
  })
})
