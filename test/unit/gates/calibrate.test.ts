// gray calibrate's estimator on seeded simulated A/A splits with a known overdispersion, and
// its measuring loop against an in-memory source (the real Prometheus test is
// test/integration/prometheus/calibrate.test.ts).
import {describe, expect, it} from 'vitest'

import type {Check, Host} from '../../../src/core/config/model.js'
import {calibrate, chiSquareQuantile, estimateDispersion, recommendedPhi, type SplitInterval} from '../../../src/core/gates/calibrate.js'
import type {MeasureRequest, Measurement, MetricSource} from '../../../src/core/ports.js'
import {hostsPattern} from '../../../src/adapters/metrics/query-vars.js'

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
const normal = (u: () => number) => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())
function gamma(u: () => number, shape: number): number {
  if (shape < 1) return gamma(u, shape + 1) * u() ** (1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const z = normal(u)
    const v = (1 + c * z) ** 3
    if (v > 0 && Math.log(u()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v
  }
}
function binomial(u: () => number, n: number, p: number): number {
  let k = 0
  for (let i = 0; i < n; i++) if (u() < p) k++
  return k
}
function poisson(u: () => number, mean: number): number {
  let k = 0
  let p = Math.exp(-mean)
  let cdf = p
  const x = u()
  while (x > cdf) {
    k++
    p *= mean / k
    cdf += p
  }
  return k
}

/**
 * K intervals of an A/A split with Var(x_a | e) = φ·e·s·(1−s) exactly: x_a given the
 * interval's e errors is beta-binomial with concentration c = (e−1)/(φ−1) − 1, whose variance
 * is e·s·(1−s)·(1 + (e−1)/(c+1)). φ = 1 is the plain binomial. e ≥ 5 so c stays positive.
 */
function split(seed: number, k: number, phi: number): SplitInterval[] {
  const u = rng(seed)
  return Array.from({length: k}, () => {
    const s = 0.25 + 0.5 * u()
    const total = 4000
    const na = Math.round(total * s)
    const e = 5 + poisson(u, 20)
    let p = s
    if (phi > 1) {
      const c = (e - 1) / (phi - 1) - 1
      const [g1, g2] = [gamma(u, c * s), gamma(u, c * (1 - s))]
      p = g1 / (g1 + g2)
    }
    const xa = binomial(u, e, p)
    return {a: {bad: xa, total: na}, b: {bad: e - xa, total: total - na}}
  })
}

/** The bound: four standard errors of the mean of the per-interval Pearson terms, from the data. */
function bound(intervals: SplitInterval[]): number {
  const terms = intervals.map(({a, b}) => {
    const e = a.bad + b.bad
    const s = a.total / (a.total + b.total)
    return (a.bad - e * s) ** 2 / (e * s * (1 - s))
  })
  const mean = terms.reduce((x, y) => x + y, 0) / terms.length
  const variance = terms.reduce((x, y) => x + (y - mean) ** 2, 0) / (terms.length - 1)
  return 4 * Math.sqrt(variance / terms.length)
}

describe('the overdispersion estimator', () => {
  it('χ² quantiles are within 1% of the tables', () => {
    // k, 2.5% and 97.5% points (Abramowitz & Stegun table 26.8)
    for (const [k, lo, hi] of [[10, 3.247, 20.483], [30, 16.791, 46.979], [100, 74.222, 129.561]] as const) {
      expect(Math.abs(chiSquareQuantile(k, -1.959964) / lo - 1)).toBeLessThan(0.01)
      expect(Math.abs(chiSquareQuantile(k, 1.959964) / hi - 1)).toBeLessThan(0.01)
    }
  })

  it.each([1, 2.5])('recovers φ = %s from 3,000 seeded intervals within four standard errors', (phi) => {
    const data = split(phi === 1 ? 11 : 12, 3000, phi)
    const d = estimateDispersion(data)
    const tol = bound(data)
    // about 4·sqrt(Var(z²)/K) with Var(z²) ≤ 3 for these counts: some 13% of φ, a measurement, not a guess
    expect(tol).toBeLessThan(0.15 * phi)
    expect(Math.abs((d.phi as number) - phi)).toBeLessThan(tol)
    expect(d.intervals).toBe(3000)
    expect(d.low as number).toBeLessThan(d.phi as number)
    expect(d.high as number).toBeGreaterThan(d.phi as number)
  })

  it('tells φ = 1 from φ = 2.5 with 100 intervals, and recommends at least the true φ', () => {
    const calm = estimateDispersion(split(21, 100, 1))
    const wild = estimateDispersion(split(22, 100, 2.5))
    expect(calm.high as number).toBeLessThan(wild.low as number)
    expect(recommendedPhi(calm)).toBeGreaterThanOrEqual(1)
    expect(recommendedPhi(calm)).toBeLessThan(1.6)
    expect(recommendedPhi(wild)).toBeGreaterThanOrEqual(2.5)
  })

  it("the 95% interval covers φ = 1 in about 95% of 300 seeded calibrations of 100 intervals", () => {
    let covered = 0
    for (let seed = 0; seed < 300; seed++) {
      const d = estimateDispersion(split(1000 + seed, 100, 1))
      if ((d.low as number) <= 1 && 1 <= (d.high as number)) covered++
    }
    // binomial(300, 0.95) has sd 3.8: 270 is eight below its mean
    expect(covered).toBeGreaterThanOrEqual(270)
    expect(covered).toBeLessThanOrEqual(297)
  })

  it('leaves out intervals with no errors or a group without requests, and says when there is nothing', () => {
    const empty = estimateDispersion([
      {a: {bad: 0, total: 100}, b: {bad: 0, total: 100}},
      {a: {bad: 3, total: 0}, b: {bad: 2, total: 100}},
    ])
    expect(empty).toMatchObject({phi: null, low: null, high: null, intervals: 0})
    expect(recommendedPhi(empty)).toBeNull()
    const one = estimateDispersion([{a: {bad: 4, total: 100}, b: {bad: 0, total: 100}}])
    // e = 4, s = ½: (4 − 2)² / (4·¼) = 4
    expect(one).toMatchObject({phi: 4, low: null, high: null, intervals: 1})
  })

  it('recommends the upper end rounded up to a tenth, never below 1', () => {
    expect(recommendedPhi({phi: 0.8, low: 0.6, high: 0.95, intervals: 50, errors: 500, chi2: 40})).toBe(1)
    expect(recommendedPhi({phi: 2, low: 1.7, high: 2.31, intervals: 50, errors: 500, chi2: 100})).toBe(2.4)
    expect(recommendedPhi({phi: 2, low: 1.7, high: 2.3, intervals: 50, errors: 500, chi2: 100})).toBe(2.3)
  })
})

describe('{hosts} in queries', () => {
  it('is the names as one PromQL-string regex, metacharacters escaped', () => {
    expect(hostsPattern(['web-1', 'web-2'])).toBe('web-1|web-2')
    expect(hostsPattern(['10.0.0.1:9100'])).toBe('10\\\\.0\\\\.0\\\\.1:9100')
    expect(hostsPattern(['a"b'])).toBe('a\\"b')
    expect(hostsPattern([])).toBe('')
  })
})

describe('calibrate() against an in-memory source', () => {
  const hosts = (...names: string[]): Host[] => names.map((name) => ({name, address: `${name}:80`}))
  const check: Check = {name: 'five', source: 'mem', errors: 'e', total: 't', judge: 'sequential', minSamples: 0, failures: 2, windowMs: 60_000, noData: 'hold'} as unknown as Check

  it('measures each group with its own hosts at every interval end and estimates φ per check', async () => {
    const asked: Array<{hosts: string[]; at: number; windowMs: number; cohort: string; version: string}> = []
    const u = rng(5)
    const source: MetricSource = {
      type: 'memory',
      measure: async (req: MeasureRequest): Promise<Measurement> => {
        asked.push({hosts: req.hosts.map((h) => h.name), at: req.at, windowMs: req.windowMs, cohort: req.cohort, version: req.version})
        const n = req.hosts.length * 1000
        const bad = binomial(u, n, 0.01)
        return {value: bad / n, samples: n, raw: {}}
      },
    }
    const groups = {a: hosts('s1', 's3'), b: hosts('s2')}
    const result = await calibrate({gates: {intervalMs: 10_000, checks: [check]}} as never, {mem: source}, [check], {from: 0, to: 600_000, version: 'v1', service: 'svc', groups})
    expect(asked).toHaveLength(2 * 60)
    expect(new Set(asked.map((a) => a.hosts.join()))).toEqual(new Set(['s1,s3', 's2']))
    expect(asked.every((a) => a.cohort === 'stable' && a.version === 'v1' && a.windowMs === 10_000 && a.at % 10_000 === 0 && a.at > 0)).toBe(true)
    expect(result.groups).toEqual({a: ['s1', 's3'], b: ['s2']})
    const c = result.checks[0]
    expect(c?.intervals).toBe(60)
    expect(c?.low as number).toBeLessThan(1)
    expect(c?.high as number).toBeGreaterThan(1)
    expect(c?.line).toMatch(/^overdispersion: \d(\.\d)?$/)
    expect(c?.note).toBeNull()
  })

  it('live (--for): waits on the clock for each interval to end before measuring it', async () => {
    let now = 1_000_000
    const slept: number[] = []
    const clock = {now: () => now, sleep: async (ms: number) => void (slept.push(ms), (now += ms))}
    const seen: Array<[number, number]> = []
    const source: MetricSource = {type: 'memory', measure: async (req) => (seen.push([req.at, now]), {value: 0.01, samples: 1000, raw: {}})}
    await calibrate({gates: {intervalMs: 10_000, checks: [check]}} as never, {mem: source}, [check], {from: now, to: now + 30_000, version: 'v1', service: 'svc', groups: {a: hosts('a'), b: hosts('b')}, clock})
    expect(slept).toEqual([10_000, 10_000, 10_000])
    // each interval is measured once it has ended, never before
    expect(seen.map(([at]) => at)).toEqual([1_010_000, 1_010_000, 1_020_000, 1_020_000, 1_030_000, 1_030_000])
    expect(seen.every(([at, when]) => when >= at)).toBe(true)
  })

  it('says why a check could not be estimated: the source failed, or too few intervals', async () => {
    const failing: MetricSource = {type: 'memory', measure: async () => Promise.reject(new Error('connection refused'))}
    const r = await calibrate({gates: {intervalMs: 10_000, checks: [check]}} as never, {mem: failing}, [check], {from: 0, to: 100_000, version: 'v1', service: 'svc', groups: {a: hosts('a'), b: hosts('b')}})
    expect(r.checks[0]).toMatchObject({phi: null, recommended: null, line: null, note: 'not measured: connection refused'})
    const few: MetricSource = {type: 'memory', measure: async () => ({value: 0.5, samples: 10, raw: {}})}
    const r2 = await calibrate({gates: {intervalMs: 10_000, checks: [check]}} as never, {mem: few}, [check], {from: 0, to: 100_000, version: 'v1', service: 'svc', groups: {a: hosts('a'), b: hosts('b')}})
    expect(r2.checks[0]?.intervals).toBe(10)
    expect(r2.checks[0]?.note).toMatch(/only 10 intervals had errors/)
  })

  it('histogram checks: φ from the bound that wanders most', async () => {
    const hist: Check = {...check, errors: undefined, total: undefined, histogram: 'h'} as unknown as Check
    const u = rng(9)
    const source: MetricSource = {
      type: 'memory',
      measure: async (req) => {
        const n = 2000
        // the 0.1 s bound: a plain binomial; the 0.5 s bound: its slow count doubled (φ ≈ 2)
        const slow1 = binomial(u, n, 0.1)
        const slow5 = 2 * binomial(u, n / 2, 0.01)
        void req
        return {value: null, samples: n, raw: {}, buckets: [{le: 0.1, count: n - slow1}, {le: 0.5, count: n - slow5}, {le: Number.POSITIVE_INFINITY, count: n}]}
      },
    }
    const r = await calibrate({gates: {intervalMs: 10_000, checks: [hist]}} as never, {mem: source}, [hist], {from: 0, to: 2_000_000, version: 'v1', service: 'svc', groups: {a: hosts('a'), b: hosts('b')}})
    expect(r.checks[0]?.measured).toBe('P(latency > 0.5 s)')
    expect(r.checks[0]?.phi as number).toBeGreaterThan(1.5)
  })
})
