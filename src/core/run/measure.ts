// One round of measurements: every gate measured once (gray, and stable as its baseline), each
// judged and journaled, then escalated (./escalation.ts): roll back, pause, or go on baking.
import {errorMessage, GrayError} from '../errors.js'
import {errorJudgement, judge, type Judgement} from '../gates/judge.js'
import type {Measurement} from '../ports.js'
import type {RunContext} from './context.js'
import {assessMeasurements, escalateVerdict} from './escalation.js'
import {FULL_WEIGHT_BP} from './policy.js'
import {grayUpstream, stableUpstream, type RunState} from './state.js'

/** Settles with the promise, or rejects as soon as the signal aborts (a slow source must not delay a rollback). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'))
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

/**
 * Measures every check once, journals each measurement, and acts on the gates' verdicts. A guard's round
 * (`guard`: the run is at a hold, ./guard.ts) rolls back as a bake's does, but never pauses: the run holds already.
 */
export async function measure(ctx: RunContext, s: RunState, bakeStart: number, weightBp: number, options: {guard?: boolean} = {}): Promise<'continue' | 'stop'> {
  const gates = ctx.config.gates
  if (!gates) return 'continue'
  const at = ctx.deps.clock.now()
  const signal = ctx.phase.signal
  const grayHosts = grayUpstream(s)
  const stableHosts = stableUpstream(s)
  // At 100% the stable cohort takes no traffic: there is no baseline to compare with, only the limit.
  const stableServes = weightBp < FULL_WEIGHT_BP && stableHosts.length > 0
  const results = await Promise.all(
    gates.checks.map(async (declared) => {
      const check = stableServes || !declared.baseline ? declared : {...declared, baseline: undefined}
      // a sequential check reads contiguous, non-overlapping intervals: since its last measurement
      const since = check.judge === 'sequential' ? Math.max(bakeStart, Date.parse(s.gates[check.name]?.last?.at ?? '') || 0) : bakeStart
      const windowMs = Math.max(1, Math.min(check.windowMs, at - since))
      const source = Object.hasOwn(ctx.deps.sources, check.source) ? ctx.deps.sources[check.source] : undefined
      const base = {check, service: s.service, previousVersion: s.previousVersion ?? undefined, windowMs, at, signal}
      let judgement: Judgement
      let gray: Measurement | undefined
      let stable: Measurement | undefined
      try {
        if (!source) throw new GrayError(`no metric source named ${check.source}`)
        ;[gray, stable] = await untilAborted(
          Promise.all([
            source.measure({...base, cohort: 'gray', version: s.version, hosts: grayHosts}),
            check.baseline ? source.measure({...base, cohort: 'stable', version: s.previousVersion ?? '', hosts: stableHosts}) : undefined,
          ]),
          signal,
        )
        // the weight in force (the sequential judge's sample-ratio check) and the step (its evidence restarts there too)
        const inForce = s.applied?.purpose === 'step' && s.applied.step === s.stepIndex && !s.publishPending ? s.applied.weightBp : undefined
        judgement = judge(check, gray, stable, s.gates[check.name]?.evidence, {weightBp: inForce, step: s.stepIndex, steps: s.steps.length, rules: ctx.config.traffic.rules.length > 0})
        judgement = escalateVerdict(check, judgement)
      } catch (error) {
        judgement = errorJudgement(check, errorMessage(error))
      }
      return {check, judgement, gray, stable, windowMs}
    }),
  )
  if (ctx.rollbackRequested) return 'stop'
  for (const {check, judgement, gray, stable, windowMs} of results) {
    await ctx.record('gate.measured', {
      check: check.name,
      step: s.stepIndex,
      ...judgement,
      query: gray?.query,
      evaluatedAt: new Date(at).toISOString(),
      windowMs,
      raw: gray?.raw ?? {},
      stableRaw: stable?.raw,
      ...(options.guard ? {guard: true} : {}),
    })
  }
  const action = assessMeasurements(results, ctx.state().gates)
  if (options.guard && action.action === 'pause') return 'continue'
  if (action.action === 'rollback') await ctx.record('rollback.started', {reason: action.reason, by: 'gates'})
  else if (action.action === 'pause') await ctx.record('run.paused', {reason: action.reason, cause: 'gates'})
  if (action.action !== 'continue') return 'stop'
  return 'continue'
}
