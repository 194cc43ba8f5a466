// Requests from people and signals: promote, pause, resume, rollback. Each is journaled as it
// arrives (request.received), then what it means for the run is decided from the replayed state
// (requestEvent, pure) and journaled in turn; the driver's loop acts on that at its next decision.
import {actorName, type ControlRequest, type RequestKind} from '../ports.js'
import type {EventIntent, RunContext} from './context.js'
import type {RunState} from './state.js'

export type RequestCause = 'request' | 'signal'

/**
 * What a request does to a run in state `s`: the event that records its effect, or null when it has
 * none — the run has ended, a rollback is under way (only another rollback request is taken, and
 * changes nothing), it is already paused, or not paused to resume. A rollback requested here is the
 * one place a person decides a rollback; the gates decide theirs in ./escalation.ts.
 */
export function requestEvent(s: RunState, req: Pick<ControlRequest, 'kind' | 'reason' | 'full' | 'actor'>, cause: RequestCause): EventIntent | null {
  const by = actorName(req.actor)
  if (s.outcome || (s.rollback && req.kind !== 'rollback')) return null
  switch (req.kind) {
    case 'rollback':
      return s.rollback ? null : {type: 'rollback.started', data: {reason: req.reason ?? `requested by ${by}`, by}}
    case 'pause':
      return s.paused ? null : {type: 'run.paused', data: {reason: req.reason ?? `paused by ${by}`, cause}}
    case 'resume':
      return s.paused ? {type: 'run.resumed', data: {by}} : null
    case 'promote':
      return {type: 'run.promoted', data: {full: req.full ?? false, by}}
  }
}

/** A request from this process (a signal, or a command that drives in-process). */
export function localRequest(ctx: RunContext, kind: RequestKind, options: {reason?: string; full?: boolean} = {}): Promise<void> {
  const req: ControlRequest = {id: `local-${Date.now()}`, kind, ...options, actor: ctx.deps.actor, at: new Date(ctx.deps.clock.now()).toISOString()}
  return enqueue(ctx, [req], 'signal')
}

/** Takes requests in: a rollback stops new side effects at once; all are journaled in order of arrival. */
export function enqueue(ctx: RunContext, reqs: ControlRequest[], cause: RequestCause = 'request'): Promise<void> {
  if (reqs.some((r) => r.kind === 'rollback')) {
    ctx.rollbackRequested = true
    ctx.phase.abort()
  }
  ctx.requests = ctx.requests.then(() => handle(ctx, reqs, cause)).catch(() => undefined)
  return ctx.requests
}

/** Takes the requests waiting in the inbox for this run. */
export async function pollInbox(ctx: RunContext): Promise<void> {
  if (!ctx.deps.inbox) return
  // a request left in the inbox for a run that has ended is not this run's to carry out
  const runId = ctx.state().runId
  const reqs = (await ctx.deps.inbox.take()).filter((r) => r.runId === undefined || r.runId === runId)
  if (reqs.length > 0) await enqueue(ctx, reqs)
}

async function handle(ctx: RunContext, reqs: ControlRequest[], cause: RequestCause): Promise<void> {
  for (const req of reqs) {
    await ctx.record('request.received', {id: req.id, kind: req.kind, reason: req.reason, full: req.full, by: actorName(req.actor), requestedAt: req.at})
    const effect = requestEvent(ctx.state(), req, cause)
    if (effect) await ctx.recordIntent(effect)
  }
  ctx.wake.abort()
}
