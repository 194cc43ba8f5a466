// The sample-ratio check of a sequential check: does gray get the traffic the gateway was
// told to give it? A gray pool that crashed, or a gateway that ignores the split, sends gray
// (almost) nothing; its metrics then show no errors, which must not read as "healthy".
//
// Low side. Null: gray's share of requests is at least SHARE_TOLERANCE × the published weight
// (traffic rules and sticky hashing only move it around that, mostly upwards). Per published
// weight the stable requests out of all are tested against 1 − tolerance × weight with the
// one-sample mixture of ./sequential.ts (sloLogE); when the weight changes that segment's
// e-value is kept and a new one starts: the product of e-processes started one after another
// is one too.
//
// High side, only when the policy has no traffic rules (rules send matching requests to gray
// whatever the weight, so they raise its share legitimately): stable's share is at least
// SHARE_TOLERANCE × its own (1 − weight); a gateway that sends gray far more than its weight
// is caught the same way, on gray's requests against 1 − tolerance × (1 − weight). With both
// sides the check's e-value is the average of the two e-processes: one too, under the null
// that both sides hold.
import {logSumExp, sloLogE} from './sequential.js'

/** Each cohort must get at least this fraction of its published share. */
export const SHARE_TOLERANCE = 0.5

export interface SampleRatio {
  /** log e-value of the segments at earlier weights (low side) */
  closedLogE: number
  /** the same for the high side; absent: no segment closed with it */
  closedHighLogE?: number
  /** the weight of the current segment, basis points */
  weightBp: number
  /** requests in the current segment (after the overdispersion factor) */
  gray: number
  stable: number
}

function lowLogE(sr: SampleRatio): number {
  const total = sr.gray + sr.stable
  return total > 0 ? sloLogE(sr.stable, total, 1 - SHARE_TOLERANCE * (sr.weightBp / 10_000)) : 0
}

function highLogE(sr: SampleRatio): number {
  const total = sr.gray + sr.stable
  return total > 0 ? sloLogE(sr.gray, total, 1 - SHARE_TOLERANCE * (1 - sr.weightBp / 10_000)) : 0
}

/** Adds one interval's request counts, measured while `weightBp` was in force. */
export function addShare(prev: SampleRatio | undefined, weightBp: number, gray: number, stable: number): SampleRatio {
  const base: SampleRatio = !prev
    ? {closedLogE: 0, weightBp, gray: 0, stable: 0}
    : prev.weightBp === weightBp
      ? prev
      : {closedLogE: prev.closedLogE + lowLogE(prev), closedHighLogE: (prev.closedHighLogE ?? 0) + highLogE(prev), weightBp, gray: 0, stable: 0}
  return {...base, gray: base.gray + gray, stable: base.stable + stable}
}

/** Which side the evidence points to, and its log e-value. */
export interface SampleRatioEvidence {
  logE: number
  /** low: gray gets too little; high: gray gets too much */
  side: 'low' | 'high'
}

/** The check's e-value: the low side alone, or with `twoSided` (no traffic rules) the average of both sides. */
export function sampleRatioEvidence(sr: SampleRatio | undefined, twoSided = false): SampleRatioEvidence {
  if (!sr) return {logE: 0, side: 'low'}
  const low = sr.closedLogE + lowLogE(sr)
  if (!twoSided) return {logE: low, side: 'low'}
  const high = (sr.closedHighLogE ?? 0) + highLogE(sr)
  return {logE: logSumExp([Math.log(0.5) + low, Math.log(0.5) + high]), side: high > low ? 'high' : 'low'}
}

export function sampleRatioLogE(sr: SampleRatio | undefined, twoSided = false): number {
  return sampleRatioEvidence(sr, twoSided).logE
}
