// A `histogram` check: latency judged sequentially on bucket counts. For every finite bucket
// bound b, "slower than b" (all requests minus the bucket le=b) is a bad event, and gray's
// rate of it is compared with stable's exactly as an error rate is (./sequential.ts). The
// bounds are tested side by side, each at α/k (k bounds: Bonferroni), so the check as a
// whole still rolls back a version that is no slower with chance at most α; the rollback
// names the bound that regressed: "P(latency > 250 ms): 3.1% vs 1.0%".
import type {Check} from '../config/model.js'
import type {Measurement} from '../ports.js'
import type {Judgement} from './judge.js'
import {DEFAULT_ALPHA, fmtE} from './judge-sequential.js'
import {addInterval, comparisonLogE, emptyEvidence, packLl, ratioEstimate, unpackLl, type Counts, type Evidence} from './sequential.js'

type Buckets = NonNullable<Measurement['buckets']>

/** A bucket bound in seconds (Prometheus' convention), for people. */
export function fmtBound(le: number): string {
  if (le < 1) return `${Number((le * 1000).toPrecision(3))} ms`
  return `${Number(le.toPrecision(3))} s`
}

const pct = (c: Counts) => (c.total > 0 ? `${Number(((100 * c.bad) / c.total).toPrecision(2))}%` : '-')
const fmtRatio = (r: number | null) => (r === null ? '?' : r >= 10 ? r.toFixed(0) : Number(r.toPrecision(2)).toString())

/** "Slower than le" counts per finite bound; null when the buckets are not counts (a reset). */
export function slowCounts(buckets: Buckets): Map<number, Counts> | null {
  const all = buckets.find((b) => b.le === Number.POSITIVE_INFINITY)?.count
  if (all === undefined || !Number.isFinite(all) || all < 0) return null
  const out = new Map<number, Counts>()
  for (const b of buckets) {
    if (!Number.isFinite(b.le)) continue
    const bad = all - b.count
    if (!Number.isFinite(bad) || bad < -1e-9 * Math.max(1, all) || b.count < 0) return null
    out.set(b.le, {bad: Math.max(0, bad), total: all})
  }
  return out
}

export function judgeHistogram(check: Check, gray: Measurement, stable: Measurement | undefined, prior: Evidence | null | undefined): Judgement {
  const alpha = check.alpha ?? DEFAULT_ALPHA
  const phi = check.overdispersion ?? 1
  const ratio = check.baseline?.maxIncrease ?? prior?.ratio ?? 1
  const before = prior ?? emptyEvidence(ratio)
  const base = {value: null, limit: null, baseline: null, samples: gray.samples}
  if (!gray.buckets) return {...base, verdict: 'no-data', reason: 'no data; interval left out of the evidence', evidence: before}
  const g = slowCounts(gray.buckets)
  if (!g) return {...base, verdict: 'no-data', reason: 'buckets that are not counts (a counter reset?); interval left out of the evidence', evidence: before}
  if (g.size === 0) return {...base, verdict: 'no-data', reason: 'no finite bucket bound; interval left out of the evidence', evidence: before}
  const s = stable?.buckets ? slowCounts(stable.buckets) : null
  const k = g.size
  const a = alpha / k
  const deflate = (c: Counts): Counts => ({bad: c.bad / phi, total: c.total / phi})
  const gTotal = (g.values().next().value as Counts).total
  const sTotal = s && s.size > 0 ? (s.values().next().value as Counts).total : 0

  const buckets: Record<string, Evidence> = {}
  let worst: {le: number; logE: number; ev: Evidence; interval: Counts; stableInterval: Counts | null} | null = null
  for (const [le, counts] of g) {
    const key = String(le)
    const was = before.buckets?.[key] && before.buckets[key].ratio === ratio ? before.buckets[key] : emptyEvidence(ratio)
    const theirs = s?.get(le) ?? null
    const ll = packLl(theirs ? addInterval(unpackLl(was.ll), ratio, deflate(counts), deflate(theirs)) : unpackLl(was.ll))
    const ev: Evidence = {
      ratio,
      ll,
      intervals: was.intervals + (theirs && counts.bad + theirs.bad > 0 && theirs.total > 0 ? 1 : 0),
      gray: {bad: was.gray.bad + counts.bad, total: was.gray.total + counts.total},
      stable: {bad: was.stable.bad + (theirs?.bad ?? 0), total: was.stable.total + (theirs?.total ?? 0)},
    }
    buckets[key] = ev
    const logE = comparisonLogE(ev)
    if (!worst || logE > worst.logE) worst = {le, logE, ev, interval: counts, stableInterval: theirs}
  }
  const evidence: Evidence = {
    ...emptyEvidence(ratio),
    intervals: before.intervals + (s ? 1 : 0),
    gray: {bad: 0, total: before.gray.total + gTotal},
    stable: {bad: 0, total: before.stable.total + sTotal},
    buckets,
  }
  const w = worst as NonNullable<typeof worst>
  const est = ratioEstimate(w.ev, a)
  const level = `${Number((100 * (1 - a)).toFixed(3))}%`
  const line = `P(latency > ${fmtBound(w.le)}): gray ${pct(w.ev.gray)} vs stable ${pct(w.ev.stable)}, ratio ${fmtRatio(est.ratio)} (${level} CS ${est.low === null ? '0' : fmtRatio(est.low)}–${est.high === null ? '∞' : fmtRatio(est.high)})`
  const judged = {
    ...base,
    value: w.interval.total > 0 ? w.interval.bad / w.interval.total : null,
    baseline: w.stableInterval && w.stableInterval.total > 0 ? w.stableInterval.bad / w.stableInterval.total : null,
    evidence,
  }
  if (w.logE >= Math.log(1 / a)) {
    return {...judged, verdict: 'fail', decisive: true, reason: `latency regression: ${line} > ${fmtRatio(ratio)}x allowed (evidence ${fmtE(w.logE)} ≥ ${fmtE(Math.log(1 / a))}, ${k} bounds at α/${k})`}
  }
  const lines = `${line}, evidence ${fmtE(w.logE)} of ${fmtE(Math.log(1 / a))} (the most of ${k} bounds); this interval gray ${Math.round(gTotal)}${s ? `, stable ${Math.round(sTotal)}` : ''} requests`
  if (!s) return {...judged, verdict: evidence.gray.total >= check.minSamples ? 'pass' : 'no-data', reason: `stable: no buckets, compared with nothing this interval; ${lines}`}
  if (evidence.gray.total < check.minSamples) return {...judged, verdict: 'no-data', reason: `${Math.round(evidence.gray.total)} samples so far < ${check.minSamples} needed; ${lines}`}
  return {...judged, verdict: 'pass', reason: lines}
}
