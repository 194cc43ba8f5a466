// Requests from people and signals: promote, pause, resume, rollback. Each is journaled as it
// arrives (request.received; only then is it removed from the inbox), then what it means for the
// run is decided from the replayed state (requestEvent, pure) and journaled in turn; the driver's
// loop acts on that at its next decision.
import {randomUUID} from 'node:crypto'

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
  const req: ControlRequest = {id: `local-${randomUUID()}`, kind, ...options, actor: ctx.deps.actor, at: new Date(ctx.deps.clock.now()).toISOString()}
  return enqueue(ctx, [req], 'signal')
}

/** Takes requests in: a rollback stops new side effects at once; all are journaled in order of arrival. */
export function enqueue(ctx: RunContext, reqs: ControlRequest[], cause: RequestCause = 'request'): Promise<void> {
  stopForRollback(ctx, reqs)
  // a request that cannot be journaled fails the driver's next record in turn, which says why
  return serially(ctx, () => handle(ctx, reqs, cause)).catch(() => undefined)
}

/**
 * Takes in the requests waiting in the inbox for this run: peek, journal, ack. A request is acked only
 * once journaled, so one this driver dies holding stays for its successor; one found already journaled
 * (this run's journal names its id and time) was taken by a driver that died before its ack, and is
 * acked without being carried out again. Inbox reads run in the request queue, one at a time, so a wake
 * and a poll at once do not both journal one request.
 */
export function pollInbox(ctx: RunContext): Promise<void> {
  const inbox = ctx.deps.inbox
  if (!inbox) return Promise.resolve()
  return serially(ctx, async () => {
    const waiting = await inbox.peek()
    if (waiting.length === 0) return
    // a request left in the inbox for a run that has ended is not this run's to carry out
    const runId = ctx.state().runId
    const mine = waiting.filter((r) => r.runId === undefined || r.runId === runId)
    const journaled = journaledRequests(ctx)
    const fresh = mine.filter((r) => !journaled.has(requestKey(r)))
    // journaled, but the driver died before it journaled the effect: decided now, from the state it left
    const unfinished = mine.filter((r) => journaled.get(requestKey(r)) === false)
    stopForRollback(ctx, [...fresh, ...unfinished])
    if (unfinished.length > 0) await finish(ctx, unfinished)
    if (fresh.length > 0) await handle(ctx, fresh, 'request')
    await inbox.ack(waiting)
  })
}

/** the requests queue: each piece of work after the last, its failure returned to its caller but not to the next */
function serially(ctx: RunContext, work: () => Promise<void>): Promise<void> {
  const run = ctx.requests.then(work)
  ctx.requests = run.catch(() => undefined)
  return run
}

function stopForRollback(ctx: RunContext, reqs: readonly ControlRequest[]): void {
  if (reqs.some((r) => r.kind === 'rollback')) {
    ctx.rollbackRequested = true
    ctx.phase.abort()
  }
}

/** a request as journaled: its id with its time, since a person may give an id again in a later request */
const requestKey = (r: {id: string; at: string}) => `${r.id}@${r.at}`

const EFFECTS = new Set(['rollback.started', 'run.paused', 'run.resumed', 'run.promoted'])

/**
 * The requests this run's journal has received, by key: true once an effect naming it is journaled too,
 * false when none is (it had none, or the driver that received it died before it journaled it).
 */
function journaledRequests(ctx: RunContext): Map<string, boolean> {
  const keys = new Map<string, boolean>()
  const open = new Map<string, string>()
  for (const e of ctx.deps.journal.events()) {
    if (e.type === 'request.received') {
      const key = requestKey({id: String(e.data.id), at: String(e.data.requestedAt)})
      keys.set(key, false)
      open.set(String(e.data.id), key)
    } else if (EFFECTS.has(e.type) && typeof e.data.request === 'string' && open.has(e.data.request)) {
      keys.set(open.get(e.data.request)!, true)
      open.delete(e.data.request)
    }
  }
  return keys
}

/** journals the effect of requests whose request.received is in the journal and whose effect is not */
async function finish(ctx: RunContext, reqs: readonly ControlRequest[]): Promise<void> {
  try {
    for (const req of reqs) await settle(ctx, req, 'request')
  } catch (error) {
    ctx.requestFailure ??= error
    ctx.wake.abort()
    throw error
  }
  ctx.wake.abort()
}

/**
 * What the request means for the run now, journaled as its effect naming it; nothing when it has none.
 * A successor that finds a request received but no effect decides it again from the state the dead
 * driver left, which is the state it was received in: none then is none now.
 */
async function settle(ctx: RunContext, req: ControlRequest, cause: RequestCause): Promise<void> {
  const effect = requestEvent(ctx.state(), req, cause)
  if (effect) await ctx.recordIntent({...effect, data: {...effect.data, request: req.id}} as EventIntent)
}

async function handle(ctx: RunContext, reqs: ControlRequest[], cause: RequestCause): Promise<void> {
  try {
    await journal(ctx, reqs, cause)
  } catch (error) {
    // a request heard but not journaled (a rollback may already have stopped the phase) cannot be
    // carried out or forgotten: the driver stops with this error, and the request waits for the next
    ctx.requestFailure ??= error
    ctx.wake.abort()
    throw error
  }
}

async function journal(ctx: RunContext, reqs: ControlRequest[], cause: RequestCause): Promise<void> {
  for (const req of reqs) {
    await ctx.record('request.received', {id: req.id, kind: req.kind, reason: req.reason, full: req.full, by: actorName(req.actor), requestedAt: req.at})
    await settle(ctx, req, cause)
  }
  ctx.wake.abort()
}
