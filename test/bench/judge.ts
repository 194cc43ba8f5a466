// `npm run bench -- judge`: how often each gate rule rolls back a healthy gray version
// (A/A: gray and stable both at 1% errors) within 2 hours, and how soon it catches a
// regression, in a seeded simulation of per-interval counts: 200 requests/s, one
// measurement every 10 s (the fixed rule every 30 s, as SPEC's example). Every rule is judged by gray's own code (src/core/gates):
//   sequential   judge: sequential, baseline.maxIncrease 1, α 0.01 (the new judge, its sample-ratio check included)
//   fixed rule   judge: threshold, baseline ×1.5 (minDelta 0.001), minSamples 300, 5 m window,
//                2 fails in a row (SPEC's example without its max)
//   fixed horizon one look at 30 min: a one-sided binomial z-test of gray's share of errors, α 0.01
//   oracle       an SPRT that knows the true ratio (2× in A/A), α 0.01: the fastest valid test
// Counts are drawn per interval (binomial sampling, no per-request loop), so the whole
// table takes a few minutes on one core. Prints nothing itself: test/bench/run.ts does.
import type {Check} from '../../src/core/config/model.js'
import {judge} from '../../src/core/gates/judge.js'
import type {Evidence} from '../../src/core/gates/sequential.js'
import type {Measurement} from '../../src/core/ports.js'

type Figures = Record<string, unknown>

const RPS = 200
const INTERVAL_S = 10
/** the fixed rule looks every 30 s (SPEC's example), i.e. every third interval */
const FIXED_EVERY = 3
const HOURS = 2
const INTERVALS = (HOURS * 3600) / INTERVAL_S
const ALPHA = 0.01
const STABLE_RATE = 0.01
const AA_RUNS = Number(process.env.GRAY_BENCH_AA_RUNS ?? 2000)
/** GRAY_BENCH_JUDGE=detect (or aa): only those rows, to try a change quickly */
const ONLY = process.env.GRAY_BENCH_JUDGE
const DETECT_RUNS = Number(process.env.GRAY_BENCH_DETECT_RUNS ?? 300)

// ── seeded sampling ─────────────────────────────────────────────────────────

/** mulberry32, its seed scrambled first: neighbouring raw seeds give correlated streams (seen here as a doubled A/A rate). */
function rng(seed: number): () => number {
  let a = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35) >>> 0
  a = (a ^ (a >>> 16)) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())
}

/** Binomial(n, p): inversion for small means, a continuity-corrected normal above 200. */
function binomial(u: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0
  if (p >= 1) return n
  const mean = n * p
  if (mean > 200 && n * (1 - p) > 200) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(u))))
  if (p > 0.5) return n - binomial(u, n, 1 - p)
  const q = 1 - p
  const ratio = p / q
  let pmf = q ** n
  let cdf = pmf
  const x = u()
  let k = 0
  while (x > cdf && k < n) {
    pmf *= (ratio * (n - k)) / (k + 1)
    k++
    cdf += pmf
  }
  return k
}

/** Gamma(shape, 1/shape): mean 1, variance 1/shape (Marsaglia–Tsang). */
function gammaMeanOne(u: () => number, shape: number): number {
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const z = normal(u)
    const v = (1 + c * z) ** 3
    if (v <= 0) continue
    if (Math.log(u()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return (d * v) / shape
  }
}

// ── scenarios ───────────────────────────────────────────────────────────────

interface Scenario {
  name: string
  /** gray's share of requests in interval i */
  share: (i: number) => number
  /** gray's error rate over stable's */
  effect: number
  /** the interval the effect begins at (default 0); detection is timed from it */
  onset?: number
  /** a factor on both versions' rates in interval i (a shared incident) */
  shared?: (i: number) => number
  /** independent gamma noise on each cohort's rate per interval (shape; smaller is noisier) */
  noiseShape?: number
  /** the overdispersion factor the sequential judge is told */
  phi?: number
  /** the run's steps: the step of interval i, and how many there are (the judge's evidence restarts at each) */
  step?: (i: number) => number
  steps?: number
}

interface Interval {
  /** the published weight, basis points (for the sample-ratio check) */
  weightBp: number
  step: number
  steps: number
  ng: number
  ns: number
  eg: number
  es: number
}

function simulate(sc: Scenario, seed: number, intervalS = INTERVAL_S): Interval[] {
  const u = rng(seed)
  const out: Interval[] = []
  for (let i = 0; i < (HOURS * 3600) / intervalS; i++) {
    const n = RPS * intervalS
    const ng = binomial(u, n, sc.share(i))
    const ns = n - ng
    const k = sc.shared?.(i) ?? 1
    const noise = () => (sc.noiseShape ? gammaMeanOne(u, sc.noiseShape) : 1)
    const ps = Math.min(1, STABLE_RATE * k * noise())
    const pg = Math.min(1, STABLE_RATE * (i >= (sc.onset ?? 0) ? sc.effect : 1) * k * noise())
    out.push({weightBp: Math.round(sc.share(i) * 10_000), step: sc.step?.(i) ?? 0, steps: sc.steps ?? 1, ng, ns, eg: binomial(u, ng, pg), es: binomial(u, ns, ps)})
  }
  return out
}

const m = (bad: number, total: number): Measurement => ({value: total > 0 ? bad / total : null, samples: total, raw: {}})

function baseCheck(over: Partial<Check>): Check {
  return {name: 'errors', source: 'sim', errors: 'e', total: 't', minSamples: 0, failures: 2, critical: false, noData: 'hold', errorLimit: 4, failClosed: false, windowMs: 300_000, minPasses: 3, ...over}
}

const SEQUENTIAL = (phi = 1) => baseCheck({judge: 'sequential', baseline: {maxIncrease: 1, minDelta: 0}, alpha: ALPHA, overdispersion: phi})
const FIXED = baseCheck({max: 1, baseline: {maxIncrease: 1.5, minDelta: 0.001}, minSamples: 300})

/** Intervals until the sequential judge (gray's code, fed its own journaled evidence) rolls back; null: never. */
function sequentialAt(run: Interval[], check: Check): number | null {
  let evidence: Evidence | null = null
  for (let i = 0; i < run.length; i++) {
    const {weightBp, step, steps, ng, ns, eg, es} = run[i] as Interval
    const j = judge(check, m(eg, ng), m(es, ns), evidence, {weightBp, step, steps})
    evidence = j.evidence ?? evidence
    if (j.verdict === 'fail' && j.decisive) return i + 1
  }
  return null
}

/** The fixed rule as the driver applies it: a 5-minute window every 30 s, 2 fails in a row. */
function fixedAt(run: Interval[]): number | null {
  const w = FIXED.windowMs / 1000 / INTERVAL_S // intervals in the 5-minute window
  let fails = 0
  for (let i = FIXED_EVERY - 1; i < run.length; i += FIXED_EVERY) {
    let ng = 0
    let ns = 0
    let eg = 0
    let es = 0
    for (let k = Math.max(0, i - w + 1); k <= i; k++) {
      const x = run[k] as Interval
      ng += x.ng
      ns += x.ns
      eg += x.eg
      es += x.es
    }
    const v = judge(FIXED, m(eg, ng), m(es, ns)).verdict
    fails = v === 'fail' ? fails + 1 : v === 'pass' ? 0 : fails
    if (fails >= FIXED.failures) return i + 1
  }
  return null
}

const HORIZON = (30 * 60) / INTERVAL_S
const Z_ALPHA = 2.3263478740408408 // one-sided 1% normal quantile

/** One look at 30 minutes: is gray's share of the errors above its share of the traffic? */
function horizonAt(run: Interval[]): number | null {
  let x = 0
  let mean = 0
  let variance = 0
  for (let i = 0; i < Math.min(HORIZON, run.length); i++) {
    const {ng, ns, eg, es} = run[i] as Interval
    const s = ng / (ng + ns)
    x += eg
    mean += (eg + es) * s
    variance += (eg + es) * s * (1 - s)
  }
  return variance > 0 && (x - mean) / Math.sqrt(variance) > Z_ALPHA ? HORIZON : null
}

/** The SPRT of ratio 1 against the true ratio, which no real gate knows. */
function oracleAt(run: Interval[], rho: number): number | null {
  let ll = 0
  for (let i = 0; i < run.length; i++) {
    const {ng, ns, eg, es} = run[i] as Interval
    if (ng === 0 || ns === 0) continue
    const s = ng / (ng + ns)
    const t1 = (s * rho) / (s * rho + 1 - s)
    ll += eg * Math.log(t1 / s) + es * Math.log((1 - t1) / (1 - s))
    if (ll >= Math.log(1 / ALPHA)) return i + 1
  }
  return null
}

// ── the table ───────────────────────────────────────────────────────────────

/** Wilson 95% interval of k in n. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959963984540054
  const p = k / n
  const d = 1 + (z * z) / n
  const c = p + (z * z) / (2 * n)
  const h = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))
  return [(c - h) / d, (c + h) / d]
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const rate = (k: number, n: number) => {
  const [lo, hi] = wilson(k, n)
  return `${pct(k / n)} [${pct(lo)}–${pct(hi)}]`
}

function medianMinutes(times: Array<number | null>): string {
  const caught = times.filter((t) => t !== null).length
  const med = medianOf(times)
  return `${med === null ? `>${HOURS * 60}` : med.toFixed(1)} min (${pct(caught / times.length)} caught)`
}

/** The median detection time in minutes (uncaught runs count as never); null when half or more are never caught. */
function medianOf(times: Array<number | null>, intervalS = INTERVAL_S): number | null {
  const sorted = times.map((t) => t ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b)
  const n = sorted.length
  const med = n % 2 ? (sorted[(n - 1) / 2] as number) : ((sorted[n / 2 - 1] as number) + (sorted[n / 2] as number)) / 2
  return Number.isFinite(med) ? (med * intervalS) / 60 : null
}

const constant = (s: number) => () => s
const third = INTERVALS / 3
const ramp = (i: number) => (i < third ? 0.01 : i < 2 * third ? 0.1 : 0.5)
const rampStep = (i: number) => (i < third ? 0 : i < 2 * third ? 1 : 2)
// a 3-minute incident every 20 minutes that sends both versions' error rate to 10%
const bursts = (i: number) => ((i * INTERVAL_S) % 1200 < 180 ? 10 : 1)

function aa(): Array<[string, string]> {
  const scenarios: Scenario[] = [
    {name: 'share 1%', share: constant(0.01), effect: 1},
    {name: 'share 10%', share: constant(0.1), effect: 1},
    {name: 'share 50%', share: constant(0.5), effect: 1},
    {name: 'ramp 1→10→50% (3 steps of 40 min)', share: ramp, effect: 1, step: rampStep, steps: 3},
    {name: 'shared bursts ×10 (10% share)', share: constant(0.1), effect: 1, shared: bursts},
    // gamma noise of shape 20 on each cohort's rate per interval: at 50% share the
    // stable count's variance is ≈ 1 + 30/20 = 2.5 times Poisson
    {name: 'overdispersed, φ=1 told (50% share)', share: constant(0.5), effect: 1, noiseShape: 20, phi: 1},
    {name: 'overdispersed, φ=2.5 told (50% share)', share: constant(0.5), effect: 1, noiseShape: 20, phi: 2.5},
  ]
  const rows: Array<[string, string]> = []
  let seed = 1
  for (const sc of scenarios) {
    const counts = {seq: 0, fixed: 0, horizon: 0, oracle: 0}
    const check = SEQUENTIAL(sc.phi ?? 1)
    for (let r = 0; r < AA_RUNS; r++) {
      const run = simulate(sc, seed++)
      if (sequentialAt(run, check) !== null) counts.seq++
      if (fixedAt(run) !== null) counts.fixed++
      if (horizonAt(run) !== null) counts.horizon++
      if (oracleAt(run, 2) !== null) counts.oracle++
    }
    const n = AA_RUNS
    rows.push([
      `A/A ${sc.name}`,
      `sequential ${rate(counts.seq, n)} | fixed rule ${rate(counts.fixed, n)} | fixed horizon ${rate(counts.horizon, n)} | oracle ${rate(counts.oracle, n)}${counts.seq / n <= ALPHA ? '' : '  ← above α'}`,
    ])
  }
  return rows
}

function detection(): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  let seed = 1_000_000
  // a regression that begins with the second step, after a healthy 40-minute first step
  {
    const onset = third
    const sc: Scenario = {name: '2x from step 2 of 3 (40 min healthy first)', share: constant(0.1), effect: 2, onset, step: rampStep, steps: 3}
    const times = {seq: [] as Array<number | null>, once: [] as Array<number | null>, oracle: [] as Array<number | null>}
    const after = (t: number | null) => (t === null ? null : Math.max(1, t - onset))
    for (let r = 0; r < DETECT_RUNS; r++) {
      const run = simulate(sc, seed++)
      times.seq.push(after(sequentialAt(run, SEQUENTIAL())))
      times.once.push(after(sequentialAt(run.map((x) => ({...x, steps: 1})), SEQUENTIAL())))
      times.oracle.push(oracleAt(run.slice(onset), 2))
    }
    const s = medianOf(times.seq)
    const o = medianOf(times.oracle)
    rows.push([
      `detect ${sc.name}, 10% share`,
      `sequential ${medianMinutes(times.seq)}${s !== null && o !== null ? ` (${(s / o).toFixed(2)}x oracle)` : ''} | without the step restart ${medianMinutes(times.once)} | oracle ${medianMinutes(times.oracle)}`,
    ])
  }
  // the same regression present from the first step of the 3-step run: what the step restart costs it
  {
    const sc: Scenario = {name: '2x from step 1 of 3', share: constant(0.1), effect: 2, step: rampStep, steps: 3}
    const times = {seq: [] as Array<number | null>, oracle: [] as Array<number | null>}
    for (let r = 0; r < DETECT_RUNS; r++) {
      const run = simulate(sc, seed++)
      times.seq.push(sequentialAt(run, SEQUENTIAL()))
      times.oracle.push(oracleAt(run, 2))
    }
    const s = medianOf(times.seq)
    const o = medianOf(times.oracle)
    rows.push([`detect ${sc.name}, 10% share`, `sequential ${medianMinutes(times.seq)}${s !== null && o !== null ? ` (${(s / o).toFixed(2)}x oracle)` : ''} | oracle ${medianMinutes(times.oracle)}`])
  }
  // fast regressions at 50% are caught within one or two 10 s intervals by both: the interval,
  // not the test, is the floor. The same runs measured every 2 s (both judge and oracle) show the test.
  for (const effect of [2, 3]) {
    const intervalS = 2
    const sc: Scenario = {name: `${effect}x at 50%`, share: constant(0.5), effect}
    const times = {seq: [] as Array<number | null>, oracle: [] as Array<number | null>}
    const shortRun = (run: Interval[]) => run.slice(0, (30 * 60) / intervalS)
    for (let r = 0; r < DETECT_RUNS; r++) {
      const run = shortRun(simulate(sc, seed++, intervalS))
      times.seq.push(sequentialAt(run, SEQUENTIAL()))
      times.oracle.push(oracleAt(run, effect))
    }
    const s = medianOf(times.seq, intervalS)
    const o = medianOf(times.oracle, intervalS)
    const fmt = (t: number | null) => (t === null ? '>30' : t.toFixed(2))
    rows.push([`detect ${sc.name} share, measured every ${intervalS} s`, `sequential ${fmt(s)} min${s !== null && o !== null ? ` (${(s / o).toFixed(2)}x oracle)` : ''} | oracle ${fmt(o)} min`])
  }
  for (const share of [0.1, 0.5]) {
    for (const effect of [1.5, 2, 3]) {
      const sc: Scenario = {name: `${effect}x at ${share * 100}%`, share: constant(share), effect}
      const times = {seq: [] as Array<number | null>, fixed: [] as Array<number | null>, horizon: [] as Array<number | null>, oracle: [] as Array<number | null>}
      for (let r = 0; r < DETECT_RUNS; r++) {
        const run = simulate(sc, seed++)
        times.seq.push(sequentialAt(run, SEQUENTIAL()))
        times.fixed.push(fixedAt(run))
        times.horizon.push(horizonAt(run))
        times.oracle.push(oracleAt(run, effect))
      }
      const s = medianOf(times.seq)
      const o = medianOf(times.oracle)
      const ratio = s !== null && o !== null ? ` (${(s / o).toFixed(2)}x oracle)` : ''
      rows.push([
        `detect ${sc.name} share`,
        `sequential ${medianMinutes(times.seq)}${ratio} | fixed rule ${medianMinutes(times.fixed)} | fixed horizon ${medianMinutes(times.horizon)} | oracle ${medianMinutes(times.oracle)}`,
      ])
    }
  }
  return rows
}

// ── latency: a histogram check against a 1.25x shift ─────────────────────────

/** Standard normal upper tail (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7). */
function upperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x)
  return z >= 0 ? erfc / 2 : 1 - erfc / 2
}

const BOUNDS = [0.05, 0.1, 0.25, 0.5, 1]
// log-normal latency with P(> 100 ms) = 10% and P(> 250 ms) = 1%
const SIGMA = Math.log(2.5) / (2.3263478740408408 - 1.2815515655446004)
const MU = Math.log(0.1) - 1.2815515655446004 * SIGMA

/** Cumulative bucket counts of n requests whose latencies are log-normal, scaled by `shift`. */
function histogramOf(u: () => number, n: number, shift: number): Measurement {
  const mu = MU + Math.log(shift)
  let left = n
  let above = 1
  const counts: number[] = []
  // requests slower than each bound, from the smallest bound up, drawn as nested binomials
  for (const b of BOUNDS) {
    const tail = upperTail((Math.log(b) - mu) / SIGMA)
    const slower = binomial(u, left, Math.min(1, tail / above))
    counts.push(n - slower)
    left = slower
    above = tail
  }
  return {value: null, samples: n, raw: {}, buckets: [...BOUNDS.map((le, i) => ({le, count: counts[i] as number})), {le: Number.POSITIVE_INFINITY, count: n}]}
}

const LATENCY: Check = baseCheck({judge: 'sequential', histogram: 'h', baseline: {maxIncrease: 1, minDelta: 0}, alpha: ALPHA})

function latencyRows(): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  let seed = 2_000_000
  for (const [shift, runs] of [
    [1, AA_RUNS / 4],
    [1.25, DETECT_RUNS],
  ] as const) {
    const times: Array<number | null> = []
    for (let r = 0; r < runs; r++) {
      const u = rng(seed++)
      let evidence: Evidence | null = null
      let at: number | null = null
      for (let i = 0; i < INTERVALS && at === null; i++) {
        const n = RPS * INTERVAL_S
        const ng = binomial(u, n, 0.1)
        const j = judge(LATENCY, histogramOf(u, ng, shift), histogramOf(u, n - ng, 1), evidence)
        evidence = j.evidence ?? evidence
        if (j.decisive) at = i + 1
      }
      times.push(at)
    }
    const caught = times.filter((t) => t !== null).length
    rows.push(
      shift === 1
        ? [`A/A latency (histogram, 10% share)`, `sequential ${rate(caught, times.length)} of ${times.length} runs`]
        : [`detect latency x${shift} (histogram, 10% share)`, `sequential ${medianMinutes(times)}`],
    )
  }
  return rows
}

export async function benchJudge(): Promise<Figures> {
  const began = performance.now()
  const rows = [...(ONLY === 'detect' ? [] : aa()), ...(ONLY === 'aa' ? [] : detection())]
  rows.push([
    'setup',
    `${RPS} req/s, stable ${pct(STABLE_RATE)} errors, ${INTERVAL_S} s intervals, ${HOURS} h per run, ${AA_RUNS} runs per A/A row (95% Wilson interval in brackets), ${DETECT_RUNS} per detection row; ${((performance.now() - began) / 1000).toFixed(0)} s`,
  ])
  return Object.fromEntries(rows)
}

/** The histogram check: A/A false rollbacks and a 1.25x latency shift (its own section, `npm run bench -- judge`). */
export async function benchJudgeLatency(): Promise<Figures> {
  const began = performance.now()
  const rows = latencyRows()
  rows.push(['setup', `log-normal latency, P(> 100 ms) = 10%, P(> 250 ms) = 1%; bounds ${BOUNDS.join(', ')} s; ${RPS} req/s, ${INTERVAL_S} s intervals, 2 h per run; ${((performance.now() - began) / 1000).toFixed(0)} s`])
  return Object.fromEntries(rows)
}

