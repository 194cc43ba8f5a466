// How one measurement of one check is judged (SPEC "Gates: how a measurement is judged").
import type {Check} from '../config/model.js'
import type {Measurement} from '../ports.js'
import {judgeHistogram} from './judge-histogram.js'
import {judgeSequential, type SequentialContext, type SequentialSummary} from './judge-sequential.js'
import type {Evidence} from './sequential.js'

export type Verdict = 'pass' | 'fail' | 'no-data' | 'error'

export interface Judgement {
  verdict: Verdict
  value: number | null
  /** the limit that applied: max or min */
  limit: number | null
  baseline: number | null
  samples: number | null
  /** why, in a few words: "0.031 > max 0.01", "312 samples < 300 needed" */
  reason: string
  /** judge: sequential — an anytime-valid test rejected: roll back now, not after `failures` fails */
  decisive?: boolean
  /** judge: sequential — the run's evidence after this measurement (journaled, replayed) */
  evidence?: Evidence
  /** judge: sequential — what the measurement shows: e-values, ratio and its confidence sequence, counts */
  sequential?: SequentialSummary
}

function usable(value: number | null): value is number {
  return value !== null && Number.isFinite(value)
}

function noData(check: Check, m: Measurement | undefined, why: string): Judgement {
  return {verdict: 'no-data', value: m?.value ?? null, limit: limitOf(check), baseline: null, samples: m?.samples ?? null, reason: why}
}

/** Each check's direction by name: max (lower is better) or min. */
export function gateDirections(checks: readonly Check[]): Record<string, 'max' | 'min'> {
  return Object.fromEntries(checks.map((c) => [c.name, c.min !== undefined && c.max === undefined ? 'min' : 'max'] as const))
}

export function limitOf(check: Check): number | null {
  return check.max ?? check.min ?? null
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  return Number.isInteger(n) ? String(n) : n.toPrecision(3).replace(/\.?0+$/, '')
}

/** Ratio checks (errors/total, a crash-free rate) read as percentages; value checks as they are. */
export function isRatio(check: Pick<Check, 'errors' | 'total' | 'release'>): boolean {
  return Boolean((check.errors && check.total) || check.release)
}

/** A value as people read it against this check's limit: 0.158 of a ratio is 15.8%. */
export function shown(check: Pick<Check, 'errors' | 'total' | 'release'>, n: number): string {
  return isRatio(check) && Number.isFinite(n) ? `${fmt(n * 100)}%` : fmt(n)
}

/** A count for people: whole, with thousands separators (2,813). */
export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n)
}

/**
 * Judges the gray measurement against the check's limit and, when the check
 * has a baseline, against the stable measurement taken the same way.
 */
export function judge(check: Check, gray: Measurement, stable?: Measurement, evidence?: Evidence | null, context?: SequentialContext): Judgement {
  if (check.histogram !== undefined) return judgeHistogram(check, gray, stable, evidence)
  if (check.judge === 'sequential') return judgeSequential(check, gray, stable, evidence, context)
  if (!usable(gray.value)) return noData(check, gray, gray.value === null ? 'no data' : `value is ${gray.value}`)
  if (gray.samples !== null && gray.samples < check.minSamples) {
    return noData(check, gray, `${count(gray.samples)} samples < ${count(check.minSamples)} needed`)
  }
  const value = gray.value
  const base: Judgement = {verdict: 'pass', value, limit: limitOf(check), baseline: null, samples: gray.samples, reason: ''}
  if (check.max !== undefined && value > check.max) {
    return {...base, verdict: 'fail', reason: `${shown(check, value)} > max ${shown(check, check.max)}`}
  }
  if (check.min !== undefined && value < check.min) {
    return {...base, verdict: 'fail', reason: `${shown(check, value)} < min ${shown(check, check.min)}`}
  }
  if (check.baseline) {
    if (!stable || !usable(stable.value) || (stable.samples !== null && stable.samples < check.minSamples)) {
      return {...noData(check, gray, 'no stable baseline data'), value}
    }
    const {maxIncrease, minDelta} = check.baseline
    const ref = stable.value
    // Higher is worse for max checks (error rates); for min checks (crash-free
    // rates) compare the complements, the failure rates.
    const [mine, theirs] = check.min !== undefined && check.max === undefined ? [1 - value, 1 - ref] : [value, ref]
    const worseByRatio = mine > theirs * maxIncrease
    const worseByDelta = mine - theirs > minDelta
    const judged = {...base, baseline: ref}
    if (worseByRatio && worseByDelta) {
      return {...judged, verdict: 'fail', reason: `${shown(check, value)} is worse than stable ${shown(check, ref)} by more than ${fmt(maxIncrease)}x`}
    }
    return {...judged, reason: `${shown(check, value)} within limit and stable ${shown(check, ref)}`}
  }
  return {...base, reason: `${shown(check, value)} within ${check.max !== undefined ? `max ${shown(check, check.max)}` : `min ${shown(check, check.min ?? 0)}`}`}
}

export function errorJudgement(check: Check, message: string): Judgement {
  return {verdict: 'error', value: null, limit: limitOf(check), baseline: null, samples: null, reason: message}
}
