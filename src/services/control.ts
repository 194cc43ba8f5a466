// `gray rollback | promote | pause | resume`: steer the current run. When a
// live driver holds the lock the request goes to its inbox and is acted on
// within a second; otherwise this process takes the lock and drives itself.
import {setTimeout as delay} from 'node:timers/promises'

import {ConfigError, ExitCode, LockedError, type ExitCodeValue} from '../core/errors.js'
import type {ControlRequest, RequestKind} from '../core/ports.js'
import {exitCodeOf} from '../core/run/exit-codes.js'
import {holds, isTerminal, replay, type RunState} from '../core/run/state.js'
import {requestEvent} from '../core/run/requests.js'
import type {Lease} from '../state/backend.js'
import {reasonProblem} from '../state/inbox.js'
import type {Context, StateContext} from './context.js'
import {driveRun, observersOf, preflight, takeLock, type DriveOptions} from './drive.js'
import {frozenOf} from './run-config.js'
import {liveAgentsOf} from './handoff.js'
import {latestRun} from './runs.js'

export interface ControlOptions extends DriveOptions {
  reason?: string
  full?: boolean
  /** how long to wait for a live driver to take the request */
  ackTimeoutMs?: number
  /** drive with gray.yaml's config though it differs from the run's (journaled as config.adopted) */
  adoptConfig?: boolean
}

export interface ControlResult {
  state: RunState
  exitCode: ExitCodeValue
  /** who carried it out: the live driver (pid) or this process */
  via: 'driver' | 'self'
  driverPid?: number
}

type JournalEvents = Awaited<ReturnType<StateContext['backend']['readEvents']>>

/** `ctx` without a config (no gray.yaml, `--service`): the request goes to a live driver, or is refused */
export async function control(ctx: StateContext, kind: RequestKind, options: ControlOptions = {}): Promise<ControlResult> {
  const service = ctx.service
  const latest = await latestRun(ctx)
  if (!latest) throw new ConfigError(`${service} has no run to ${kind}`, 'start one with `gray start --version V`')
  if (isTerminal(latest.state)) return alreadyEnded(ctx, kind, latest.id, latest.state)
  if (options.reason !== undefined) {
    const problem = reasonProblem(options.reason)
    if (problem) throw new ConfigError(`--reason: ${problem}`)
  }
  const gateway = ctx.config ? await preflight(ctx as Context) : null
  // the request is posted to a live driver's inbox, or carried out here: never both, so it is journaled once
  let posted: ControlRequest | null = null
  for (let tries = 0; ; tries++) {
    const holder = await ctx.backend.readLease(service)
    // a live agent serving the service takes the run for the request (and drives it on, as this process would)
    const agent = holder?.alive ? holder.holder.kind === 'agent' : (await liveAgentsOf(ctx)).length > 0
    if (holder?.alive || agent) {
      if (options.adoptConfig && !posted) options.note?.(`--adopt-config does nothing here: the run's ${agent ? 'agent' : `live driver (pid ${holder?.holder.pid})`} drives with the config it has`)
      posted ??= await ctx.backend.postRequest(service, {kind, runId: latest.id, reason: options.reason, full: options.full, actor: ctx.actor})
      const request = posted
      const id = posted.id
      // received, and what it means journaled: a driver that dies in between has not taken it (its successor carries it out)
      const received = (events: JournalEvents) => {
        const at = events.find((e) => e.type === 'request.received' && e.data.id === id)
        return at && (events.some((e) => e.seq > at.seq && e.data.request === id) || requestEvent(replay(events), request, 'request') === null) ? at : undefined
      }
      // promote and resume handed to an agent are followed until the run ends or waits again, as when driven here
      const onward = agent && (kind === 'promote' || kind === 'resume')
      const taken = (events: JournalEvents) => {
        const at = received(events)
        if (!at) return false
        return !onward || isTerminal(replay(events)) || ((events.at(-1)?.seq ?? 0) > at.seq && holds(replay(events)))
      }
      // pause, and promote or resume a CLI driver carries out, answer with the run as their effect left it:
      // a rollback asked for just after does not change what this request did (the rollback's own command says that)
      const carriedOut = (events: JournalEvents): RunState | null => {
        const at = kind === 'rollback' || onward ? undefined : received(events)
        const effect = at && events.find((e) => e.seq > at.seq && e.data.request === id)
        return effect ? replay(events.filter((e) => e.seq <= effect.seq)) : null
      }
      const stop = new AbortController()
      const onSignal = () => stop.abort()
      if (options.handleSignals) {
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
      }
      let acked: RunState | null
      try {
        acked = await follow(ctx, latest.id, id, (s, events) => taken(events) && (carriedOut(events) !== null || settled(kind, s)), options, stop.signal)
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
      if (stop.signal.aborted && acked) {
        // Ctrl-C here only stops this terminal following: the live driver carries the request out
        const where = taken(await ctx.backend.readEvents(service, latest.id)) ? 'has taken the request' : 'finds the request in its inbox within a second'
        const pid = holder?.holder.pid
        options.note?.(`stopped following; the ${pid ? `driver (pid ${pid})` : 'agent'} ${where} and goes on; \`gray status --watch\` follows it`)
        return {state: acked, exitCode: ExitCode.ok, via: 'driver', driverPid: pid}
      }
      if (acked) {
        const pid = (await ctx.backend.readLease(service))?.holder.pid ?? holder?.holder.pid
        const state = carriedOut(await ctx.backend.readEvents(service, latest.id)) ?? acked
        return {state, exitCode: onward && holds(state) ? ExitCode.paused : resultCode(kind, state), via: 'driver', driverPid: pid}
      }
      // The driver did not answer: it died or hangs. Taking the lock waits for it to go stale.
    }
    // without gray.yaml a run drives with the config it started with; one started before runs kept it cannot be driven here
    if (!ctx.config && !frozenOf(latest.events)) {
      // a driver that is slow to answer is waited for while its lease lives
      if (posted && (await ctx.backend.readLease(service))?.alive) continue
      throw noDriverNoConfig(ctx, kind, latest.state, posted !== null)
    }
    let lock: Lease
    try {
      lock = await takeLock(ctx)
    } catch (error) {
      // another command took the seat between our look and our try: its driver takes the request
      if (error instanceof LockedError && tries < 3) continue
      throw error
    }
    // The driver may have ended the run between our first look and taking the seat (it released the
    // lock as it exited): then nothing is left to drive, and a journal that ended is never written again.
    let events: JournalEvents
    try {
      events = await ctx.backend.readEvents(service, latest.id)
    } catch (error) {
      await lock.release().catch(() => undefined)
      throw error
    }
    const current = replay(events)
    if (isTerminal(current)) {
      await lock.release().catch(() => undefined)
      return alreadyEnded(ctx, kind, latest.id, current)
    }
    // a request left in the inbox is carried out by this driver when it reads the inbox; one already
    // journaled (a driver took it, then stopped) is not asked for again
    const journaled = posted ? events.some((e) => e.type === 'request.received' && e.data.id === posted?.id) : false
    const waiting = posted ? await ctx.backend.requestWaiting(service, posted).catch(async (error: unknown) => {
      await lock.release().catch(() => undefined)
      throw error
    }) : false
    const outcome = await driveRun(ctx, lock, latest.id, gateway, {
      ...options,
      // `gray pause` with no live driver journals the pause and leaves: it does not stay to guard it
      detach: options.detach || kind === 'pause',
      // a rollback or a pause at 3 a.m. is never blocked by an edited gray.yaml: it drives with the run's own config
      configChoice: options.adoptConfig ? 'adopt' : kind === 'rollback' || kind === 'pause' ? 'frozen' : 'refuse',
      before: journaled || waiting ? undefined : (driver) => driver.request(kind, {reason: options.reason, full: options.full}),
    })
    return {state: outcome.state, exitCode: resultCode(kind, outcome.state, outcome.exitCode), via: 'self'}
  }
}

/** A run that already ended rolled back (or failed) is what every request fired at it finds: its exit code says so. */
function alreadyEnded(ctx: StateContext, kind: RequestKind, runId: string, state: RunState): ControlResult {
  if (state.status === 'rolled_back' || state.status === 'failed') {
    if (kind !== 'rollback') process.stderr.write(`gray: run ${runId} of ${ctx.service} already ended (${state.status}); nothing to ${kind}\n`)
    return {state, exitCode: exitCodeOf(state), via: 'self'}
  }
  throw new ConfigError(`run ${runId} of ${ctx.service} already ended (${state.status}); there is nothing to ${kind}`)
}

/**
 * When the request counts as carried out by a live driver. A run that is
 * rolling back ends as rolled back whatever was asked: every request then
 * waits for that end, so its exit code says how the run ended.
 */
function settled(kind: RequestKind, s: RunState): boolean {
  if (s.rollback && !isTerminal(s)) return false
  switch (kind) {
    case 'rollback':
      return s.status === 'rolled_back' || s.status === 'failed'
    case 'pause':
      return s.status === 'paused' || isTerminal(s)
    default:
      return true
  }
}

/** The exit code of a control command: how the run stands once the request was carried out. */
function resultCode(kind: RequestKind, s: RunState, driven?: ExitCodeValue): ExitCodeValue {
  if (isTerminal(s) || s.rollback) return exitCodeOf(s)
  if (driven !== undefined) return driven
  if (kind === 'promote' || kind === 'resume') return ExitCode.ok
  return exitCodeOf(s)
}

/** Follows the journal until `done` holds; null when the driver stops answering. */
async function follow(
  ctx: StateContext,
  runId: string,
  requestId: string,
  done: (s: RunState, events: JournalEvents) => boolean,
  options: ControlOptions,
  stop?: AbortSignal,
): Promise<RunState | null> {
  const ackTimeout = options.ackTimeoutMs ?? 5_000
  const started = Date.now()
  let seen = 0
  let acked = false
  // the live driver notifies; here only the display watches, through the same door
  const hub = observersOf({}, options)
  for (;;) {
    const events = await ctx.backend.readEvents(ctx.service, runId)
    const state = replay(events)
    for (const e of events.slice(seen)) hub.emit(e, state)
    seen = events.length
    if (done(state, events) || stop?.aborted) return state
    acked ||= events.some((e) => e.type === 'request.received' && e.data.id === requestId)
    if (!acked && Date.now() - started > ackTimeout) return null
    if (acked) {
      const holder = await ctx.backend.readLease(ctx.service)
      if (!holder?.alive) {
        // the driver may have ended or stopped at a wait between our read and its release: look once more
        const last = await ctx.backend.readEvents(ctx.service, runId)
        const now = replay(last)
        for (const e of last.slice(seen)) hub.emit(e, now)
        seen = last.length
        if (done(now, last)) return now
        // an agent serving the service takes the run again (after a takeover, or for the next request)
        if (!isTerminal(now) && (await liveAgentsOf(ctx)).length > 0) {
          await delay(150, undefined, {signal: stop}).catch(() => undefined)
          continue
        }
        return isTerminal(now) ? now : null
      }
    }
    await delay(100, undefined, {signal: stop}).catch(() => undefined)
  }
}

/**
 * No live driver holds the run and there is no gray.yaml to drive it with here
 * (exit 2; a request already posted stays for the next driver to carry out).
 */
function noDriverNoConfig(ctx: StateContext, kind: RequestKind, state: RunState, posted: boolean): ConfigError {
  const left = posted ? `; the ${kind} request stays posted for the next driver` : '; nothing was changed'
  return new ConfigError(
    `no live driver and no gray.yaml: ${ctx.service}'s run of ${state.version} (${state.status}) is driven by nobody, and it was started before runs kept their config, so this process cannot drive it without its gray.yaml${left}`,
    `run \`gray ${kind}\` where its gray.yaml is (or -c path/to/gray.yaml), or \`gray start --version ${state.version}\` there to take it over`,
  )
}
