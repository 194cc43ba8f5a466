// Gate escalation: what the driver does with the gates' verdicts. Pure — no I/O, no clock, no journal.
//
// The driver measures, journals each measurement (replay updates GateState), then asks here what the
// verdicts mean for the run: roll back, pause, or carry on baking; and, once the bake time is over,
// whether the step passed, must wait for more passes, or is inconclusive and pauses.

import type {Check} from '../config/model.js'
import type {Judgement} from '../gates/judge.js'
import type {GateState} from './state.js'

/**
 * A `no-data` verdict under `noData: fail` becomes a `fail` (it then counts towards `failures`, and a
 * critical check rolls back at once); under `noData: hold` it stays `no-data`: no pass, no fail, the
 * step just cannot pass on it. Every other verdict is returned unchanged.
 */
export function escalateVerdict(check: Pick<Check, 'noData'>, judgement: Judgement): Judgement {
  if (judgement.verdict === 'no-data' && check.noData === 'fail') return {...judgement, verdict: 'fail', reason: `no data (${judgement.reason}); noData: fail`}
  return judgement
}

export type MeasurementAction = {action: 'continue'} | {action: 'rollback'; reason: string} | {action: 'pause'; reason: string}

type EscalationCheck = Pick<Check, 'name' | 'critical' | 'failures' | 'errorLimit' | 'failClosed' | 'alpha'>

/**
 * After one round of measurements (already replayed into `gates`), the first check that escalates decides, in
 * the checks' order:
 * - its last verdict is `fail` and the check is critical, or the sequential test was decisive, or it failed
 *   `failures` times in a row → roll back;
 * - its last verdict is `error` `errorLimit` times in a row → roll back if the check `failClosed`, else pause
 *   (an unmeasurable gate is not evidence the version is bad).
 * Otherwise the bake continues. A check with no measurement yet never escalates.
 */
export function assessMeasurements(results: ReadonlyArray<{check: EscalationCheck; judgement: Pick<Judgement, 'decisive'>}>, gates: Readonly<Record<string, GateState | undefined>>): MeasurementAction {
  for (const {check, judgement} of results) {
    const g = gates[check.name]
    if (!g?.last) continue
    if (g.last.verdict === 'fail' && (check.critical || judgement.decisive || g.consecutiveFails >= check.failures)) {
      const times = judgement.decisive ? `sequential test, α = ${check.alpha ?? 0.01}` : check.critical ? 'critical check' : `${g.consecutiveFails} consecutive fails`
      return {action: 'rollback', reason: `gate ${check.name} failed: ${g.last.reason} (${times})`}
    }
    if (g.last.verdict === 'error' && g.consecutiveErrors >= check.errorLimit) {
      const reason = `gate ${check.name} could not be measured ${g.consecutiveErrors} times in a row: ${g.last.reason}`
      return check.failClosed ? {action: 'rollback', reason: `${reason} (failClosed)`} : {action: 'pause', reason}
    }
  }
  return {action: 'continue'}
}

/**
 * How many times longer than strictly needed the driver keeps measuring after the bake time before it calls
 * the gates inconclusive. A check lacking passes needs at least `minPasses` more measurements to pass; it gets
 * twice that, so a few `no-data` or `error` rounds in between do not pause a healthy version, while a gate
 * that never settles (always no-data under `noData: hold`, or flapping pass/fail below `failures`) pauses the
 * run for a human instead of baking forever. Argo Rollouts does the same with its inconclusive limit
 * (`assessMetricFailureInconclusiveOrError`): neither pass nor fail past a bound means ask an operator.
 */
export const INCONCLUSIVE_PATIENCE_FACTOR = 2

/** The measurements after the bake time the lacking checks get before the gates are inconclusive: 2 × the largest minPasses. */
export function inconclusivePatience(lacking: ReadonlyArray<Pick<Check, 'minPasses'>>): number {
  return Math.max(...lacking.map((c) => c.minPasses)) * INCONCLUSIVE_PATIENCE_FACTOR
}

export type BakeEndAction = {action: 'pass'} | {action: 'wait'} | {action: 'pause-inconclusive'; reason: string}

/**
 * At or after the end of the bake time: the step passes when every check has its `minPasses`; otherwise it
 * waits for more measurements until `measuredAfterBake` reaches {@link inconclusivePatience} of the lacking
 * checks, then pauses as inconclusive.
 */
export function assessBakeEnd(checks: ReadonlyArray<Pick<Check, 'name' | 'minPasses'>>, gates: Readonly<Record<string, GateState | undefined>>, measuredAfterBake: number): BakeEndAction {
  const lacking = checks.filter((c) => (gates[c.name]?.passes ?? 0) < c.minPasses)
  if (lacking.length === 0) return {action: 'pass'}
  if (measuredAfterBake < inconclusivePatience(lacking)) return {action: 'wait'}
  const detail = lacking.map((c) => `${c.name} ${gates[c.name]?.passes ?? 0}/${c.minPasses} passes (${gates[c.name]?.last?.reason ?? 'not measured'})`).join('; ')
  return {action: 'pause-inconclusive', reason: `gates inconclusive: ${detail}`}
}
