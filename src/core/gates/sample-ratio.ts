// The sample-ratio check of a sequential check: does gray get the traffic the gateway was
// told to give it? A gray pool that crashed, or a gateway that ignores the split, sends gray
// (almost) nothing; its metrics then show no errors, which must not read as "healthy".
//
// Null: gray's share of requests is at least SHARE_TOLERANCE × the published weight (traffic
// rules and sticky hashing only move it around that, mostly upwards). Per published weight the
// stable requests out of all are tested against 1 − tolerance × weight with the one-sample
// mixture of ./sequential.ts (sloLogE); when the weight changes that segment's e-value is
// kept and a new one starts: the product of e-processes started one after another is one too.
import {sloLogE} from './sequential.js'

/** Gray must get at least this fraction of its published weight. */
export const SHARE_TOLERANCE = 0.5

export interface SampleRatio {
  /** log e-value of the segments at earlier weights */
  closedLogE: number
  /** the weight of the current segment, basis points */
  weightBp: number
  /** requests in the current segment (after the overdispersion factor) */
  gray: number
  stable: number
}

function segmentLogE(sr: SampleRatio): number {
  const total = sr.gray + sr.stable
  return total > 0 ? sloLogE(sr.stable, total, 1 - SHARE_TOLERANCE * (sr.weightBp / 10_000)) : 0
}

/** Adds one interval's request counts, measured while `weightBp` was in force. */
export function addShare(prev: SampleRatio | undefined, weightBp: number, gray: number, stable: number): SampleRatio {
  const base = !prev ? {closedLogE: 0, weightBp, gray: 0, stable: 0} : prev.weightBp === weightBp ? prev : {closedLogE: prev.closedLogE + segmentLogE(prev), weightBp, gray: 0, stable: 0}
  return {...base, gray: base.gray + gray, stable: base.stable + stable}
}

export function sampleRatioLogE(sr: SampleRatio | undefined): number {
  return sr ? sr.closedLogE + segmentLogE(sr) : 0
}
