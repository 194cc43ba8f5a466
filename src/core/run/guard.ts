// Guarding a hold: while the run is paused or a step waits for `gray promote`, the driver stays and keeps
// measuring the gates at the weight in force every gate interval, rolling back on a failing gate as a bake does
// (./measure.ts, ./escalation.ts). It never advances: a pause stops advancement, not the gates. Any request
// wakes it; the loop returns as soon as the hold is no longer the one it guards (a promote, a resume, a
// rollback, another pause), or this process's own signal says leave.
import type {RunContext} from './context.js'
import {measure} from './measure.js'
import {nextAction, type GuardAction} from './next.js'
import {lastMeasuredAt, type GuardState, type RunState} from './state.js'

/** how long a guard with nothing to measure sleeps between looks; any request wakes it at once */
const IDLE_MS = 60_000

/** The guard journaled describes this one: the same hold, at the same weight, measuring the same way. */
export function sameGuard(journaled: GuardState | null, action: GuardAction): boolean {
  return Boolean(journaled && journaled.reason === action.reason && journaled.weightBp === action.weightBp && (journaled.unmeasured ?? undefined) === action.unmeasured)
}

export async function guard(ctx: RunContext, action: GuardAction): Promise<void> {
  const {clock} = ctx.deps
  const interval = ctx.config.gates?.intervalMs ?? 1_000
  const measuring = action.unmeasured === undefined
  let s = ctx.state()
  if (!sameGuard(s.guarding, action)) {
    await ctx.record('driver.guarding', {reason: action.reason, weightBp: action.weightBp, intervalMs: measuring ? interval : null, ...(action.unmeasured ? {unmeasured: action.unmeasured} : {})})
  }
  const since = action.since ? Date.parse(action.since) : clock.now()
  // the rhythm the bake kept goes on: the next round one interval after the last, whoever measured it
  let nextMeasure = Math.max(since, lastMeasuredAt(s)) + interval
  for (;;) {
    await ctx.requests
    s = ctx.state()
    if (!stillGuarding(ctx, s, action)) return
    const now = clock.now()
    if (measuring && now >= nextMeasure) {
      if ((await measure(ctx, s, since, action.weightBp, {guard: true})) !== 'continue') return
      nextMeasure = Math.max(nextMeasure + interval, clock.now())
      continue
    }
    ctx.wake = new AbortController()
    const until = measuring ? nextMeasure : now + IDLE_MS
    await clock.sleep(Math.max(1, until - now), AbortSignal.any([ctx.wake.signal, ctx.phase.signal]))
  }
}

/** Still the hold this guard began at: nothing ended it, changed it, or told the driver to leave. */
function stillGuarding(ctx: RunContext, s: RunState, action: GuardAction): boolean {
  if (ctx.leaving || ctx.rollbackRequested) return false
  const next = nextAction(s, ctx.config, {guard: true})
  return next.kind === 'guard' && next.reason === action.reason && next.weightBp === action.weightBp && next.unmeasured === action.unmeasured
}
