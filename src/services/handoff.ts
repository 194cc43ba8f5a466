// The CLI beside a `gray agent`: whether a live agent serves the service, the
// wait for it to take a run handed to it, and following the run it drives
// until the run ends or waits for a person, with the exit code an in-process
// drive would have given.
import {setTimeout as delay} from 'node:timers/promises'

import {ExitCode, LockedError, type ExitCodeValue} from '../core/errors.js'
import {exitCodeOf} from '../core/run/exit-codes.js'
import {holds, isTerminal, replay, type RunState} from '../core/run/state.js'
import type {AgentPresence, LeaseState} from '../state/backend.js'
import type {StateContext} from './context.js'
import {observersOf, type DriveOptions} from './drive.js'

/** how long `gray start` waits for a live agent to take the run it handed over before driving it here */
export function handoffWaitMs(env: Record<string, string | undefined> = process.env): number {
  const n = Number(env.GRAY_AGENT_HANDOFF_MS)
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 600_000) : 5_000
}

/** the live agents serving this service; none when the backend cannot tell */
export async function liveAgentsOf(ctx: Pick<StateContext, 'backend' | 'service'>): Promise<AgentPresence[]> {
  return ctx.backend.liveAgents(ctx.service).catch(() => [])
}

/** a live agent holds the service's lease, or null once `waitMs` has passed without one */
export async function awaitAgent(ctx: Pick<StateContext, 'backend' | 'service'>, runId: string, afterEpoch: number, waitMs: number): Promise<LeaseState | null> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const lease = await ctx.backend.readLease(ctx.service)
    if (lease?.alive && lease.holder.kind === 'agent' && lease.epoch > afterEpoch) {
      // the agent holds the lease; its driver.attached says it drives this run
      const events = await ctx.backend.readEvents(ctx.service, runId)
      if (events.some((e) => e.type === 'driver.attached' && e.data.epoch === lease.epoch)) return lease
    }
    if (Date.now() >= deadline) return null
    await delay(100)
  }
}

/** how long `gray start` follows an agent that holds the service's lease before it attaches to the run handed to it */
export const AGENT_ATTACH_WAIT_MS = 60_000

/**
 * The service's lease was an agent's (epoch `fromEpoch`) when this process wanted it after the
 * hand-off wait: that agent took the run just now, or took the lease and died before it attached.
 * Resolves with the lease once an agent (it, or one that took over) has attached to the run; null
 * once no live agent holds the lease (it lapsed, or is another kind's): the caller takes it itself.
 * An agent that keeps the lease alive for `waitMs` without attaching is stuck: LockedError.
 */
export async function agentDrivingOrLapsed(
  ctx: Pick<StateContext, 'backend' | 'service'>,
  runId: string,
  fromEpoch: number,
  waitMs = AGENT_ATTACH_WAIT_MS,
): Promise<LeaseState | null> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const lease = await ctx.backend.readLease(ctx.service)
    if (!lease?.alive || lease.holder.kind !== 'agent') return null
    if (lease.epoch >= fromEpoch) {
      const events = await ctx.backend.readEvents(ctx.service, runId)
      if (events.some((e) => e.type === 'driver.attached' && e.data.epoch === lease.epoch)) return lease
    }
    if (Date.now() >= deadline) {
      const {host, pid} = lease.holder
      throw new LockedError(
        `the agent on ${host} (pid ${pid}) holds the lease of ${ctx.service} but has not taken run ${runId} in ${Math.round(waitMs / 1000)} s`,
        `check that agent's log; stopping it hands the lease back, and \`gray start\` again drives the run`,
      )
    }
    await delay(100)
  }
}

export interface Followed {
  state: RunState
  exitCode: ExitCodeValue
  /** the person stopped following (Ctrl-C); the agent drives on */
  stopped?: boolean
}

/**
 * Follows a run an agent drives until it ends or waits for a person (`from`:
 * only events after this seq count, so a hold already there is not the answer).
 * Null when nothing has driven it for `orphanMs` (no live lease and no live
 * agent): the caller drives it here, or says so.
 */
export async function followAgent(
  ctx: StateContext,
  runId: string,
  options: Pick<DriveOptions, 'observe' | 'note' | 'handleSignals'> & {from?: number; orphanMs?: number} = {},
): Promise<Followed | null> {
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  if (options.handleSignals) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  const hub = observersOf({}, options)
  const orphanMs = options.orphanMs ?? 15_000
  let seen = 0
  let orphanSince: number | null = null
  try {
    for (;;) {
      const events = await ctx.backend.readEvents(ctx.service, runId)
      const state = replay(events)
      for (const e of events.slice(seen)) hub.emit(e, state)
      seen = events.length
      const moved = (events.at(-1)?.seq ?? 0) > (options.from ?? 0)
      if (isTerminal(state)) return {state, exitCode: exitCodeOf(state)}
      if (moved && holds(state)) return {state, exitCode: ExitCode.paused}
      if (stop.signal.aborted) return {state, exitCode: ExitCode.ok, stopped: true}
      const lease = await ctx.backend.readLease(ctx.service)
      const driven = Boolean(lease?.alive) || (await liveAgentsOf(ctx)).length > 0
      orphanSince = driven ? null : (orphanSince ?? Date.now())
      if (orphanSince !== null && Date.now() - orphanSince > orphanMs) return null
      await delay(150, undefined, {signal: stop.signal}).catch(() => undefined)
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
