// `judge: sequential`: one measurement of a check is one interval's counts, added to the
// run's evidence (./sequential.ts). The check fails, decisively (the run rolls back at
// once), when an anytime-valid test rejects: gray worse than stable by more than
// baseline.maxIncrease (a regression), or gray's own rate above max / below min (an SLO
// breach). Until then each measurement passes and says how far the evidence has come.
import type {Check} from '../config/model.js'
import type {Measurement} from '../ports.js'
import type {Judgement} from './judge.js'
import {addShare, sampleRatioEvidence} from './sample-ratio.js'
import {addDeltaInterval, addInterval, emptyEvidence, GRID_HALF, gridRatio, packLl, ratioEstimate, sloLogE, stepMixtureDeltaLogE, stepMixtureLogE, unpackLl, type Counts, type Evidence} from './sequential.js'

export const DEFAULT_ALPHA = 0.01

/** What a sequential measurement shows, journaled with it (gate.measured `sequential`). */
export interface SequentialSummary {
  /** the test that decides: the larger e-value of the two, against its own 1/α */
  alpha: number
  /** comparison with stable: e-value, its threshold 1/α, the ratio gray/stable with its confidence sequence */
  comparison: {e: number; threshold: number; ratio: number | null; low: number | null; high: number | null; allowed: number} | null
  /** baseline.minDelta > 0: the e-value that gray exceeds stable by more than minDelta (a regression needs both at the threshold) */
  delta?: {e: number; threshold: number; minDelta: number}
  /** gray's own rate against the limit */
  slo: {e: number; threshold: number; rate: number | null; limit: number} | null
  /** this interval's counts, as read */
  interval: {gray: Counts; stable: Counts | null}
  /** the run's counts so far, as read */
  run: {gray: Counts; stable: Counts}
  overdispersion: number
}

/** What the driver knows about the measurement beyond the counts. */
export interface SequentialContext {
  /** the weight the gateway confirmed for this interval (the sample-ratio check); absent: not known */
  weightBp?: number
  /** the step index and the run's number of steps (the comparison restarts at each step) */
  step?: number
  steps?: number
  /** false: the policy has no traffic rules, so gray getting far more than its weight is a mismatch too; absent or true: only too little is */
  rules?: boolean
}

/** Which way a check's value goes bad: an error rate (max) or a success rate (min). */
function badOf(check: Check, value: number, total: number): number {
  const rate = check.min !== undefined && check.max === undefined ? 1 - value : value
  const bad = rate * total
  const near = Math.round(bad)
  // errors/total × total comes back as 2.9999999: counts are whole where they were whole
  return Math.abs(bad - near) < 1e-6 * Math.max(1, Math.abs(bad)) ? near : bad
}

export type Read = {counts: Counts} | {none: string} | {broken: string}

/** One cohort's interval counts from a measurement: value × samples are its bad events. */
export function countsOf(check: Check, m: Measurement | undefined): Read {
  if (!m) return {none: 'not measured'}
  const total = m.samples
  if (total === null || total === undefined) return m.value === null ? {none: 'no data'} : {broken: 'the source gave no sample count; judge: sequential needs counts (errors and total)'}
  if (!Number.isFinite(total) || total < 0) return {broken: `total ${total} is not a count (a counter reset?)`}
  if (total === 0) return {none: 'no requests'}
  if (m.value === null || !Number.isFinite(m.value)) return {broken: `value is ${m.value}`}
  const bad = badOf(check, m.value, total)
  if (bad < 0 || bad > total * (1 + 1e-9)) return {broken: `${bad} bad of ${total} is not a count (a counter reset?)`}
  return {counts: {bad: Math.min(bad, total), total}}
}

function limitRate(check: Check): number | null {
  if (check.max !== undefined) return check.max
  if (check.min !== undefined) return 1 - check.min
  return null
}

export function fmtE(logE: number): string {
  if (logE === Number.POSITIVE_INFINITY || logE > 690) return '>1e300'
  const e = Math.exp(logE)
  if (e >= 1e4) return e.toExponential(1).replace('e+', 'e')
  return e >= 10 ? e.toFixed(0) : e.toPrecision(2)
}

const pct = (c: Counts) => (c.total > 0 ? `${fmtRate(c.bad / c.total)}` : '-')

function fmtRate(r: number): string {
  const p = r * 100
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toPrecision(2)}%`
}

const fmtCount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1))
const fmtRatio = (r: number | null) => (r === null ? '?' : r >= 10 ? r.toFixed(0) : Number(r.toPrecision(2)).toString())

/**
 * Judges one interval. `prior` is the evidence so far in this run (from the journal);
 * the judgement carries the evidence after this interval, to be journaled with it.
 */
export function judgeSequential(
  check: Check,
  gray: Measurement,
  stable: Measurement | undefined,
  prior: Evidence | null | undefined,
  context: SequentialContext = {},
): Judgement {
  const alpha = check.alpha ?? DEFAULT_ALPHA
  const phi = check.overdispersion ?? 1
  const ratio = check.baseline?.maxIncrease ?? prior?.ratio ?? 1
  // a changed maxIncrease starts the comparison afresh (the grid is centred on it)
  const before = prior && prior.ratio === ratio ? prior : {...emptyEvidence(ratio), gray: prior?.gray ?? {bad: 0, total: 0}, stable: prior?.stable ?? {bad: 0, total: 0}}
  const limit = limitRate(check)
  const compare = Boolean(check.baseline)
  // α is split when the check has both tests; at 100% the driver drops the baseline, but the
  // run's comparison has spent its half already
  const split = (compare || (prior?.stable.total ?? 0) > 0) && limit !== null ? 2 : 1
  const base = {value: gray.value, limit: check.max ?? check.min ?? null, baseline: stable?.value ?? null, samples: gray.samples}

  // the sample ratio: gray's share of requests against the weight in force (real counts only)
  const requests = (x: Measurement | undefined) => (x && typeof x.samples === 'number' && Number.isFinite(x.samples) && x.samples >= 0 ? x.samples : null)
  const [grayRequests, stableRequests] = [requests(gray), compare ? requests(stable) : null]
  const weightBp = context.weightBp ?? 0
  const srm =
    grayRequests !== null && stableRequests !== null && stableRequests > 0 && weightBp > 0 && weightBp < 10_000
      ? addShare(before.srm, weightBp, grayRequests / phi, stableRequests / phi)
      : before.srm
  const withSrm: Evidence = srm ? {...before, srm} : before
  const {logE: logSrm, side} = sampleRatioEvidence(srm, context.rules === false)
  if (srm && logSrm >= Math.log(1 / alpha)) {
    const share = srm.gray / Math.max(1e-9, srm.gray + srm.stable)
    const why = side === 'high' ? 'a gateway that ignores the split in gray\'s favour (the policy has no rules that would send it more)?' : 'a crashed gray pool or a gateway that ignores the split?'
    return {
      ...base,
      verdict: 'fail',
      decisive: true,
      reason: `sample ratio mismatch: gray got ${fmtRate(share)} of requests at a published ${fmtRate(srm.weightBp / 10_000)} (evidence ${fmtE(logSrm)} ≥ ${fmtE(Math.log(1 / alpha))}); ${why}`,
      evidence: withSrm,
    }
  }

  const g = countsOf(check, gray)
  if (!('counts' in g)) {
    const why = 'none' in g ? g.none : g.broken
    return {...base, verdict: 'no-data', reason: `${why}; interval left out of the evidence`, evidence: withSrm}
  }
  const st = compare ? countsOf(check, stable) : null
  const stableCounts = st && 'counts' in st ? st.counts : null
  const deflate = (c: Counts): Counts => ({bad: c.bad / phi, total: c.total / phi})
  const ll = stableCounts ? addInterval(unpackLl(before.ll), ratio, deflate(g.counts), deflate(stableCounts)) : unpackLl(before.ll)
  // the component since the current step began (only when the run has several steps)
  const steps = context.steps ?? 1
  // (not kept during the first step: there it is the run's own, see stepMixtureLogE)
  const stepBefore = context.step !== undefined && context.step > 0 && steps > 1 ? (before.step?.index === context.step ? unpackLl(before.step.ll) : []) : null
  const stepLl = stepBefore === null ? null : stableCounts ? addInterval(stepBefore, ratio, deflate(g.counts), deflate(stableCounts)) : stepBefore
  const informative = stableCounts !== null && g.counts.bad + stableCounts.bad > 0 && stableCounts.total > 0
  // minDelta: the additive half of the null "gray ≤ max(r·stable, stable + minDelta)" (./sequential.ts)
  const minDelta = compare ? (check.baseline?.minDelta ?? 0) : (before.delta?.minDelta ?? 0)
  const deltaBefore = before.delta && before.delta.minDelta === minDelta ? unpackLl(before.delta.ll) : []
  const addDelta = (prev: number[]) => (stableCounts ? addDeltaInterval(prev, ratio, minDelta, deflate(g.counts), deflate(stableCounts)) : prev)
  const delta = minDelta > 0 ? {minDelta, ll: packLl(addDelta(deltaBefore))} : null
  const stepDeltaBefore = before.step?.index === context.step && before.delta?.minDelta === minDelta ? unpackLl(before.step?.delta) : []
  const stepDelta = delta && stepLl ? addDelta(stepDeltaBefore) : null
  const evidence: Evidence = {
    ratio,
    ll: packLl(ll),
    ...(stepLl ? {step: {index: context.step as number, ll: packLl(stepLl), ...(stepDelta ? {delta: packLl(stepDelta)} : {})}} : {}),
    ...(delta ? {delta} : {}),
    intervals: before.intervals + (informative ? 1 : 0),
    gray: {bad: before.gray.bad + g.counts.bad, total: before.gray.total + g.counts.total},
    stable: {bad: before.stable.bad + (stableCounts?.bad ?? 0), total: before.stable.total + (stableCounts?.total ?? 0)},
    ...(srm ? {srm} : {}),
  }

  const aCmp = alpha / split
  const aSlo = alpha / split
  const logRatio = stepMixtureLogE(evidence, steps)
  const logDelta = stepMixtureDeltaLogE(evidence, steps)
  // with minDelta the test of "worse than both" decides (./sequential.ts); the ratio's own is shown
  const logCmp = logDelta ?? logRatio
  const est = ratioEstimate(evidence, aCmp)
  const logSlo = limit === null ? null : sloLogE(evidence.gray.bad / phi, evidence.gray.total / phi, limit)
  const summary: SequentialSummary = {
    alpha,
    comparison: compare || ll.length > 0 ? {e: Math.exp(logCmp), threshold: 1 / aCmp, ratio: est.ratio, low: est.low, high: est.high, allowed: ratio} : null,
    ...(logDelta === null ? {} : {delta: {e: Math.exp(logDelta), threshold: 1 / aCmp, minDelta}}),
    slo: limit === null || logSlo === null ? null : {e: Math.exp(logSlo), threshold: 1 / aSlo, rate: evidence.gray.total > 0 ? evidence.gray.bad / evidence.gray.total : null, limit},
    interval: {gray: g.counts, stable: stableCounts},
    run: {gray: evidence.gray, stable: evidence.stable},
    overdispersion: phi,
  }

  const counts = `this interval gray ${fmtCount(g.counts.bad)}/${fmtCount(g.counts.total)}${stableCounts ? `, stable ${fmtCount(stableCounts.bad)}/${fmtCount(stableCounts.total)}` : ''}`
  const top = ratio * gridRatio(2 * GRID_HALF)
  const bottom = ratio * gridRatio(0)
  // at the grid's edge the likeliest ratio lies beyond it (no errors at all on one side)
  const point = est.ratio !== null && est.ratio >= top * 0.999 ? `>${fmtRatio(top)}` : est.ratio !== null && est.ratio <= bottom * 1.001 ? `<${fmtRatio(bottom)}` : fmtRatio(est.ratio)
  const level = `${Number((100 * (1 - aCmp)).toFixed(2))}%`
  const cs = `ratio ${point} (${level} CS ${est.low === null ? '0' : fmtRatio(est.low)}–${est.high === null ? '∞' : fmtRatio(est.high)})`
  const deltaText = logDelta === null ? '' : ` (beyond ${fmtRatio(ratio)}x and +${fmtRate(minDelta)}; the ratio alone ${fmtE(logRatio)})`
  const cmpLine = `gray ${pct(evidence.gray)} vs stable ${pct(evidence.stable)}: ${cs}, evidence ${fmtE(logCmp)}${deltaText} of ${fmtE(Math.log(1 / aCmp))}`
  const sloLine = logSlo === null || limit === null ? '' : `gray ${pct(evidence.gray)} vs ${check.max !== undefined ? 'max' : 'min'} ${check.max !== undefined ? fmtRate(check.max) : fmtRate(check.min ?? 0)}: evidence ${fmtE(logSlo)} of ${fmtE(Math.log(1 / aSlo))}`

  if (logSlo !== null && logSlo >= Math.log(1 / aSlo)) {
    const limitText = check.max !== undefined ? `above max ${fmtRate(check.max)}` : `below min ${fmtRate(check.min ?? 0)}`
    const rate = check.max !== undefined ? pct(evidence.gray) : fmtRate(1 - evidence.gray.bad / evidence.gray.total)
    return {
      ...base,
      verdict: 'fail',
      decisive: true,
      reason: `SLO breach: gray at ${rate}, ${limitText} (evidence ${fmtE(logSlo)} ≥ ${fmtE(Math.log(1 / aSlo))}; ${fmtCount(evidence.gray.bad)} bad of ${fmtCount(evidence.gray.total)})`,
      evidence,
      sequential: summary,
    }
  }
  if (logCmp >= Math.log(1 / aCmp)) {
    return {
      ...base,
      verdict: 'fail',
      decisive: true,
      reason: `regression: gray ${pct(evidence.gray)} vs stable ${pct(evidence.stable)}, ${cs} > ${fmtRatio(ratio)}x allowed${logDelta === null ? '' : ` and more than ${fmtRate(minDelta)} above stable`} (evidence ${fmtE(logCmp)} ≥ ${fmtE(Math.log(1 / aCmp))})`,
      evidence,
      sequential: summary,
    }
  }
  const lines = [compare ? cmpLine : '', sloLine, counts].filter(Boolean).join('; ')
  if (compare && !stableCounts && st) {
    const why = 'none' in st ? st.none : 'broken' in st ? st.broken : ''
    return {...base, verdict: evidence.gray.total >= check.minSamples ? 'pass' : 'no-data', reason: `stable: ${why}, compared with nothing this interval; ${lines}`, evidence, sequential: summary}
  }
  if (evidence.gray.total < check.minSamples) {
    return {...base, verdict: 'no-data', reason: `${fmtCount(evidence.gray.total)} samples so far < ${check.minSamples} needed; ${lines}`, evidence, sequential: summary}
  }
  return {...base, verdict: 'pass', reason: lines, evidence, sequential: summary}
}
