// Taking the driver's seat: the lease (the local lock or the database row), the
// journal through the state backend, the adapters, signals.
import {systemClock} from '../adapters/clock.js'
import {runAdapters} from '../adapters/deploy/run-adapters.js'
import {createDeployer, createGateway, createSources} from '../adapters/factory.js'
import {createNotifier} from '../adapters/notify/webhook.js'
import {InvalidConfigError} from '../core/config/problems.js'
import {ruleSupportErrors} from '../core/config/validate.js'
import {planProblems} from '../core/plan.js'
import {ExitCode} from '../core/errors.js'
import {actorName, type Gateway, type JournalEvent} from '../core/ports.js'
import {RunDriver, type DriverOptions, type Outcome} from '../core/run/driver.js'
import type {RunState} from '../core/run/state.js'
import type {Lease} from '../state/backend.js'
import {BackendJournal, backendInbox} from '../state/driver-ports.js'
import {lockStaleMs, stateFromEnv, type Context, type StateContext} from './context.js'
import {inventoryAtTakeover} from './inventory.js'
import {guardStrayRejections, ObserverHub, type Observer} from './observers.js'
import {configForRun, type ConfigChoice} from './run-config.js'

export type {Observer} from './observers.js'

/** What a person chose after the first Ctrl-C: the driver keeps driving while they choose. */
export type InterruptChoice = 'continue' | 'rollback' | 'pause'
/** Asks what to do; `cancel` aborts when the question is moot (a second Ctrl-C, the run ended). */
export type InterruptAsk = (state: RunState, cancel: AbortSignal) => Promise<InterruptChoice>

export interface DriveOptions {
  /** the display: reached through the observer hub, so it can neither stop nor delay the driver */
  observe?: Observer
  /** what to do once the driver exists, before it drives (a request of this command) */
  before?: (driver: RunDriver) => Promise<void> | void
  /** SIGINT/SIGTERM pause the run (journaled) instead of killing the process */
  handleSignals?: boolean
  onSignal?: (signal: string, count: number) => void
  /**
   * On a terminal, the first SIGINT asks this (keep going, roll back, pause and
   * leave); without it, or on SIGTERM, or on a second signal, the run pauses.
   */
  ask?: InterruptAsk
  /** a line for the person at the terminal (what a signal does); loud when the run is left unguarded */
  note?: (line: string, loud?: boolean) => void
  /**
   * at a wait for `gray promote` or a pause, leave (exit 4) instead of guarding it: the run is UNGUARDED until
   * someone promotes or resumes it. Without it the driver stays and keeps measuring the gates (guardWaits).
   */
  detach?: boolean
  driver?: Partial<DriverOptions>
  /** gray.yaml differs from the run's config: refuse, drive with the run's own (the default), or adopt gray.yaml's (./run-config.ts) */
  configChoice?: ConfigChoice
}

/** The loud line of a driver that left a run at a hold: nothing measures its gates until someone drives it on. */
export function unguardedNote(state: Pick<RunState, 'status'>): string {
  const until = state.status === 'waiting' ? '`gray promote`' : '`gray resume`'
  return `the run is now UNGUARDED until ${until}: no gate is measured and nothing rolls it back by itself (\`gray rollback\` reverts it)`
}

/** Refuses, before anything is written, a config whose policy the gateway cannot express. */
export async function preflight(ctx: Context): Promise<Gateway> {
  const problems = planProblems(ctx.config)
  if (problems.length > 0) throw new InvalidConfigError(problems)
  const gateway = await createGateway(ctx.config)
  const unsupported = ruleSupportErrors(ctx.config, gateway.capabilities())
  if (unsupported.length > 0) throw new InvalidConfigError(unsupported, `the ${gateway.type} gateway cannot express it; change the rule or choose another gateway`)
  return gateway
}

/** The driver's seat: the service's lease, as a CLI process (exit 5 while another live driver holds it). */
export async function takeLock(ctx: Pick<Context, 'backend' | 'service' | 'store' | 'actor'>): Promise<Lease> {
  if (ctx.backend.kind === 'local') await ctx.store.ensureDirs()
  const staleMs = lockStaleMs()
  // the heartbeat beats several times within the staleness limit, so a busy machine never looks dead.
  // local knows a holder on this machine is gone and waits for its lock to go stale; a database lease
  // cannot tell a live holder from a dead one before its TTL, so it answers at once (exit 5 naming it)
  const waitMs = ctx.backend.kind === 'local' ? staleMs + 2_000 : 0
  return ctx.backend.acquireLease(ctx.service, {...ctx.actor, kind: 'cli'}, {ttlMs: staleMs, heartbeatMs: Math.min(1_000, staleMs / 4), waitMs})
}

/**
 * Drives the run `runId` while holding `lease`, with the config the run was started with (./run-config.ts);
 * `given`: the gateway of gray.yaml's config, used when that is the run's. Always releases the lease.
 */
export async function driveRun(seat: StateContext, lock: Lease, runId: string, given: Gateway | null, options: DriveOptions = {}): Promise<Outcome> {
  let journal: BackendJournal
  let ctx: Context
  let gateway: Gateway
  try {
    journal = await BackendJournal.open(seat.backend, seat.service, runId, lock)
    ;({ctx, gateway} = await runConfigOf(seat, journal, given, options))
  } catch (error) {
    await given?.close?.().catch(() => undefined)
    await lock.release().catch(() => undefined)
    throw error
  }
  const [sources, deployer] = await Promise.all([createSources(ctx.config), createDeployer(ctx.config)])
  // a takeover only of a run the stopped holder was driving, not of the last run's crashed driver
  const from = lock.takenOverFrom && wasDriving(journal.events(), lock.takenOverFrom) ? lock.takenOverFrom : undefined
  // a run this process did not just start drives the hosts frozen in it; its inventory is read again only to report changes
  const config = startedHere(journal.events(), ctx) ? ctx.config : await inventoryAtTakeover(ctx.config, journal, options.note).catch(async (error: unknown) => {
    await lock.release().catch(() => undefined)
    throw error
  })
  const driver = new RunDriver({
    ...(await runAdapters(ctx.store.dir, runId)),
    config,
    journal,
    gateway,
    deployer,
    sources,
    clock: systemClock,
    inbox: backendInbox(ctx.backend, ctx.service),
    actor: ctx.actor,
    epoch: lock.epoch,
    takeover: from ? {from: actorName(from)} : undefined,
    observe: observersOf(ctx, options).emit,
    options: {guardWaits: !options.detach, ...options.driver},
  })
  const signals = interruptions(driver, options)
  const unguard = guardStrayRejections(options.note ? (line) => options.note?.(line) : undefined)
  if (options.handleSignals) {
    // first in line: a listener added later (a library's) cannot act before the driver has
    process.prependListener('SIGINT', signals.on)
    process.prependListener('SIGTERM', signals.on)
  }
  try {
    await options.before?.(driver)
    const outcome = await driver.drive()
    // a signal said so already, as it paused
    if (outcome.exitCode === ExitCode.paused && !signals.leaving()) options.note?.(unguardedNote(outcome.state), true)
    return outcome
  } finally {
    signals.close()
    process.off('SIGINT', signals.on)
    process.off('SIGTERM', signals.on)
    unguard()
    await Promise.all([gateway.close?.(), ...Object.values(sources).map((s) => s.close?.())]).catch(() => undefined)
    await lock.release().catch(() => undefined)
  }
}

/** The run's config (journaling its adoption) and a gateway made from it; nothing is written when it is refused. */
async function runConfigOf(seat: StateContext, journal: BackendJournal, given: Gateway | null, options: DriveOptions): Promise<{ctx: Context; gateway: Gateway}> {
  const chosen = configForRun(journal.events(), seat.config, {choice: options.configChoice, state: seat.config?.state ?? stateFromEnv(), by: actorName(seat.actor)})
  const ctx: Context = {...seat, config: chosen.config}
  const gateway = given && chosen.config === seat.config ? given : await preflight(ctx)
  if (gateway !== given) await given?.close?.().catch(() => undefined)
  if (chosen.note) options.note?.(chosen.note, true)
  if (chosen.adopted) await journal.append('config.adopted', chosen.adopted as unknown as Record<string, unknown>)
  return {ctx, gateway}
}

/** The one door for everything that watches this run: the display and the config's webhooks. */
export function observersOf(ctx: {config?: Context['config']}, options: Pick<DriveOptions, 'observe' | 'note'>): ObserverHub {
  const note = options.note
  return new ObserverHub(
    [
      options.observe ? {name: 'the progress display', observe: options.observe} : undefined,
      ctx.config && ctx.config.notify.length > 0 ? {name: 'notifications', observe: createNotifier(ctx.config, note ? {log: (l) => note(l)} : {}), onFailure: 'keep'} : undefined,
    ],
    note ? {report: (line) => note(line)} : {},
  )
}

/**
 * What SIGINT/SIGTERM do while this process drives. Nothing here kills the
 * process: a pause is a request the driver journals at its next safe point (a
 * deploy or publish under way finishes first), then it leaves (exit 4) — a
 * driver that guards holds too: the person chose to leave.
 */
export function interruptions(driver: Pick<RunDriver, 'request' | 'state' | 'leave'>, options: Pick<DriveOptions, 'ask' | 'note' | 'onSignal'>) {
  let count = 0
  let asking: AbortController | null = null
  let pausing = false
  let closed = false
  const note = (line: string, loud = false) => {
    try {
      options.note?.(line, loud)
    } catch {
      // a note must not stop the driver
    }
  }
  const pause = (signal: string) => {
    if (pausing) return note(`${signal}: still pausing; a deploy or publish under way finishes first, so nothing is left half-done`)
    pausing = true
    note(`${signal}: pausing at the current weight once the step in progress settles (a deploy or publish under way finishes first)`)
    note(unguardedNote({status: 'paused'}), true)
    driver.leave()
    void driver.request('pause', {reason: `interrupted by ${signal}`}).catch(() => undefined)
  }
  const on = (signal: NodeJS.Signals) => {
    count += 1
    try {
      options.onSignal?.(signal, count)
    } catch {
      // ignore
    }
    if (closed) return
    const state = driver.state()
    if (state.rollback) {
      note(`${signal}: the rollback goes on until traffic is back on stable and the hosts are reverted`)
      return
    }
    if (signal === 'SIGINT' && options.ask && !asking && !pausing) {
      const cancel = new AbortController()
      asking = cancel
      options
        .ask(state, cancel.signal)
        .catch((): InterruptChoice => 'pause') // Ctrl-C again at the question
        .then((choice) => {
          if (asking === cancel) asking = null
          if (closed || cancel.signal.aborted) return
          if (choice === 'continue') note('going on: the driver keeps driving (Ctrl-C asks again)')
          else if (choice === 'rollback') void driver.request('rollback', {reason: 'rolled back after Ctrl-C'}).catch(() => undefined)
          else if (choice === 'pause') pause(signal)
        })
        .catch(() => undefined)
      return
    }
    if (asking) {
      asking.abort()
      asking = null
    }
    pause(signal)
  }
  return {
    on,
    /** a signal made this process leave the run */
    leaving: () => pausing,
    close() {
      closed = true
      asking?.abort()
    },
  }
}

/** the journal holds only the run.started this process wrote */
function startedHere(events: readonly JournalEvent[], ctx: Pick<Context, 'actor'>): boolean {
  const [first] = events
  return events.length === 1 && first?.actor.pid === ctx.actor.pid && first.actor.host === ctx.actor.host
}

/** the run's last driver to attach was `holder`, and it never detached */
function wasDriving(events: readonly JournalEvent[], holder: {host: string; pid: number}): boolean {
  const last = events.findLast((e) => e.type === 'driver.attached' || e.type === 'driver.detached')
  return last?.type === 'driver.attached' && last.actor.host === holder.host && last.actor.pid === holder.pid
}
