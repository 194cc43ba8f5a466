// Baking a step: measuring its gates every interval until the step passes, fails or must hold.
import type {RunContext} from './context.js'
import {assessBakeEnd} from './escalation.js'
import {measure} from './measure.js'

/**
 * Bakes the current step (at `weightBp`, the weight in force): measures every gate each interval
 * and acts on the verdicts (./measure.ts); once the bake time is over, the step passes, waits for
 * more passes or pauses as inconclusive (./escalation.ts). Returns as soon as a request, a rollback
 * or a verdict ends the bake.
 */
export async function bake(ctx: RunContext, weightBp: number): Promise<void> {
  const {clock} = ctx.deps
  const gates = ctx.config.gates
  let s = ctx.state()
  const step = s.steps[s.stepIndex]
  if (!step || !s.bakeStartedAt) return
  const bakeStart = Date.parse(s.bakeStartedAt)
  const bakeEnd = bakeStart + step.bakeMs
  const interval = gates?.intervalMs ?? 1_000
  const lastMeasured = Math.max(bakeStart, ...Object.values(s.gates).map((g) => (g.last && g.last.step === s.stepIndex ? Date.parse(g.last.at) : 0)))
  let nextMeasure = lastMeasured + interval
  let measuredAfterBake = 0
  for (;;) {
    await ctx.requests
    s = ctx.state()
    if (ctx.interrupted(s)) return
    const now = clock.now()
    if (gates && gates.checks.length > 0 && now >= nextMeasure) {
      const verdict = await measure(ctx, s, bakeStart, weightBp)
      if (verdict !== 'continue') return
      if (now >= bakeEnd) measuredAfterBake += 1
      nextMeasure = Math.max(nextMeasure + interval, clock.now())
      // a source slower than the interval would otherwise measure forever and never reach the end of the bake
      if (now < bakeEnd) continue
      await ctx.requests
      s = ctx.state()
      if (ctx.interrupted(s)) return
    }
    if (now >= bakeEnd) {
      const end = assessBakeEnd(gates?.checks ?? [], s.gates, measuredAfterBake)
      if (end.action === 'pass') {
        await ctx.record('step.passed', {index: s.stepIndex, by: 'gates'})
        return
      }
      if (end.action === 'pause-inconclusive') {
        await ctx.record('run.paused', {reason: end.reason, cause: 'gates'})
        return
      }
    }
    // after the bake, wait for the next measurement (not a busy loop); before it, for whichever comes first
    const until = gates && gates.checks.length > 0 ? (now >= bakeEnd ? nextMeasure : Math.min(nextMeasure, bakeEnd)) : bakeEnd
    ctx.wake = new AbortController()
    await clock.sleep(Math.max(1, until - now), AbortSignal.any([ctx.wake.signal, ctx.phase.signal]))
  }
}
