// `gray calibrate`: the overdispersion factor φ of a sequential check, measured on an A/A
// split of the stable fleet (docs/metrics.md "Calibrating overdispersion").
//
// Two groups of stable hosts run the same version. In interval i group A served n_a requests
// and group B n_b, with x_a and x_b errors; A's share is s = n_a / (n_a + n_b). With no
// difference between the groups and errors as Poisson counts, x_a given e = x_a + x_b is
// Binomial(e, s) — the very quantity the sequential judge reads (./sequential.ts). Rates that
// wander beyond chance make it φ times as variable: Var(x_a | e) = φ·e·s·(1 − s). Pearson's
//   X² = Σ_i (x_a − e·s)² / (e·s·(1 − s))
// over the K intervals with errors then has expectation φ·K, so φ̂ = X²/K (a quasi-likelihood
// dispersion estimate; s is read from the totals, not fitted, so no degree of freedom is
// spent). X²/φ is close to χ²_K, which gives the 95% interval [X²/χ²_K(0.975), X²/χ²_K(0.025)].
// The factor to configure is the interval's upper end (at least 1): a φ set too low lets
// false rollbacks exceed α, one set too high only makes detection a little slower.
import type {Check, GrayConfig, Host} from '../config/model.js'
import {errorMessage} from '../errors.js'
import type {Clock, Measurement, MetricSource} from '../ports.js'
import {slowCounts} from './judge-histogram.js'
import {countsOf} from './judge-sequential.js'
import type {Counts} from './sequential.js'

/** One interval of the A/A split. */
export interface SplitInterval {
  a: Counts
  b: Counts
}

export interface Dispersion {
  /** φ̂ = X²/K; null with no interval that had errors */
  phi: number | null
  /** 95% interval for φ; null without enough intervals (fewer than 2) */
  low: number | null
  high: number | null
  /** intervals with errors in either group and requests in both: K */
  intervals: number
  /** errors over those intervals, both groups */
  errors: number
  chi2: number
}

/** z for a two-sided 95% interval. */
const Z975 = 1.959963984540054

/** χ²_k quantile by Wilson–Hilferty (within about 1% of the exact value for k ≥ 3). */
export function chiSquareQuantile(k: number, z: number): number {
  const c = 2 / (9 * k)
  return k * Math.max(0, 1 - c + z * Math.sqrt(c)) ** 3
}

/** Pearson's dispersion estimate of the split's error counts (see the header). */
export function estimateDispersion(intervals: readonly SplitInterval[]): Dispersion {
  let chi2 = 0
  let k = 0
  let errors = 0
  for (const {a, b} of intervals) {
    const e = a.bad + b.bad
    if (!(a.total > 0 && b.total > 0 && e > 0)) continue
    const s = a.total / (a.total + b.total)
    chi2 += (a.bad - e * s) ** 2 / (e * s * (1 - s))
    k += 1
    errors += e
  }
  if (k === 0) return {phi: null, low: null, high: null, intervals: 0, errors: 0, chi2: 0}
  const phi = chi2 / k
  if (k < 2) return {phi, low: null, high: null, intervals: k, errors, chi2}
  return {phi, low: chi2 / chiSquareQuantile(k, Z975), high: chi2 / chiSquareQuantile(k, -Z975), intervals: k, errors, chi2}
}

/** The factor to configure: the 95% interval's upper end, rounded up to a tenth, at least 1. */
export function recommendedPhi(d: Dispersion): number | null {
  const top = d.high ?? null
  if (top === null) return null
  return Math.max(1, Math.ceil(top * 10 - 1e-9) / 10)
}

/** Fewer informative intervals than this and the estimate is too loose to trust. */
export const MIN_INTERVALS = 30

export interface CalibrationCheck {
  name: string
  /** what was measured: the check's error counts, or (histograms) the bound with the largest φ */
  measured: string | null
  phi: number | null
  low: number | null
  high: number | null
  intervals: number
  errors: number
  /** the factor to set; null when nothing could be estimated */
  recommended: number | null
  /** the gray.yaml line to paste into the check */
  line: string | null
  /** why the estimate is missing or weak; null when it is fine */
  note: string | null
}

export interface Calibration {
  from: string
  to: string
  intervalMs: number
  groups: {a: string[]; b: string[]}
  checks: CalibrationCheck[]
}

export interface CalibrateOptions {
  from: number
  to: number
  /** the version both groups run */
  version: string
  service: string
  groups: {a: Host[]; b: Host[]}
  /** live: wait for each interval's end on this clock; past data when absent */
  clock?: Clock
  signal?: AbortSignal
  /** called after each interval (progress for people) */
  onInterval?: (at: number, done: number, total: number) => void
}

/** Can a check be calibrated: does it count events (ratio with totals, or a histogram)? */
export function countable(check: Check): boolean {
  return check.histogram !== undefined || Boolean(check.errors && check.total)
}

type Series = {kind: 'ratio'; intervals: SplitInterval[]} | {kind: 'histogram'; bounds: Map<number, SplitInterval[]>}

/** Splits a measurement's counts; null when the interval carries none (no data, a reset). */
function ratioCounts(check: Check, m: Measurement): Counts | null {
  const read = countsOf(check, m)
  return 'counts' in read ? read.counts : null
}

export async function calibrate(config: Pick<GrayConfig, 'gates'>, sources: Record<string, MetricSource>, checks: readonly Check[], opts: CalibrateOptions): Promise<Calibration> {
  const intervalMs = config.gates?.intervalMs ?? 30_000
  const series = new Map<string, Series>(checks.map((c) => [c.name, c.histogram !== undefined ? {kind: 'histogram', bounds: new Map()} : {kind: 'ratio', intervals: []}]))
  const failures = new Map<string, string>()
  const total = Math.floor((opts.to - opts.from) / intervalMs)
  let done = 0
  for (let at = opts.from + intervalMs; at <= opts.to; at += intervalMs) {
    opts.signal?.throwIfAborted()
    if (opts.clock) {
      const wait = at - opts.clock.now()
      if (wait > 0) await opts.clock.sleep(wait, opts.signal)
      opts.signal?.throwIfAborted()
    }
    await Promise.all(
      checks.map(async (check) => {
        const source = sources[check.source]
        if (!source) return void failures.set(check.name, `no metric source named ${check.source}`)
        const base = {check, service: opts.service, version: opts.version, cohort: 'stable' as const, windowMs: intervalMs, at, signal: opts.signal}
        let a: Measurement
        let b: Measurement
        try {
          ;[a, b] = await Promise.all([source.measure({...base, hosts: opts.groups.a}), source.measure({...base, hosts: opts.groups.b})])
        } catch (error) {
          if (!failures.has(check.name)) failures.set(check.name, errorMessage(error))
          return
        }
        const s = series.get(check.name) as Series
        if (s.kind === 'ratio') {
          const [ca, cb] = [ratioCounts(check, a), ratioCounts(check, b)]
          if (ca && cb) s.intervals.push({a: ca, b: cb})
          return
        }
        const [ha, hb] = [a.buckets ? slowCounts(a.buckets) : null, b.buckets ? slowCounts(b.buckets) : null]
        if (!ha || !hb) return
        for (const [le, ca] of ha) {
          const cb = hb.get(le)
          if (!cb) continue
          const list = s.bounds.get(le) ?? []
          list.push({a: ca, b: cb})
          s.bounds.set(le, list)
        }
      }),
    )
    done += 1
    opts.onInterval?.(at, done, total)
  }
  return {
    from: new Date(opts.from).toISOString(),
    to: new Date(opts.to).toISOString(),
    intervalMs,
    groups: {a: opts.groups.a.map((h) => h.name), b: opts.groups.b.map((h) => h.name)},
    checks: checks.map((check) => summarise(check, series.get(check.name) as Series, failures.get(check.name))),
  }
}

const fmtPhi = (x: number) => Number(x.toPrecision(3)).toString()

function summarise(check: Check, s: Series, failure: string | undefined): CalibrationCheck {
  let measured: string | null = 'errors'
  let d: Dispersion
  if (s.kind === 'ratio') d = estimateDispersion(s.intervals)
  else {
    // one factor serves every bound: take the bound whose counts wander the most (enough data)
    let best: {le: number; d: Dispersion} | null = null
    for (const [le, list] of s.bounds) {
      const e = estimateDispersion(list)
      if (e.phi === null) continue
      const ok = e.intervals >= MIN_INTERVALS
      const bestOk = best !== null && best.d.intervals >= MIN_INTERVALS
      if (!best || (ok && !bestOk) || (ok === bestOk && (e.phi as number) > (best.d.phi as number))) best = {le, d: e}
    }
    d = best?.d ?? estimateDispersion([])
    measured = best ? `P(latency > ${best.le} s)` : null
  }
  const recommended = recommendedPhi(d)
  const note =
    d.phi === null
      ? failure
        ? `not measured: ${failure}`
        : 'no interval had errors in either group with requests in both: nothing to estimate from (a longer window, or a busier time)'
      : d.intervals < MIN_INTERVALS
        ? `only ${d.intervals} intervals had errors (${MIN_INTERVALS} or more make a firm estimate): measure longer`
        : failure
          ? `some intervals were not measured: ${failure}`
          : null
  return {
    name: check.name,
    measured: d.phi === null ? null : measured,
    phi: d.phi === null ? null : Number(d.phi.toFixed(4)),
    low: d.low === null ? null : Number(d.low.toFixed(4)),
    high: d.high === null ? null : Number(d.high.toFixed(4)),
    intervals: d.intervals,
    errors: Number(d.errors.toFixed(3)),
    recommended,
    line: recommended === null ? null : `overdispersion: ${fmtPhi(recommended)}`,
    note,
  }
}
