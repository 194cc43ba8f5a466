// Taking the driver's seat: the lock, the journal, the adapters, signals.
import {systemClock} from '../adapters/clock.js'
import {runAdapters} from '../adapters/deploy/run-adapters.js'
import {createDeployer, createGateway, createSources} from '../adapters/factory.js'
import {withNotifications} from '../adapters/notify/webhook.js'
import {InvalidConfigError} from '../core/config/problems.js'
import {ruleSupportErrors} from '../core/config/validate.js'
import {planProblems} from '../core/plan.js'
import {actorName, type Gateway, type JournalEvent} from '../core/ports.js'
import {RunDriver, type DriverOptions, type Outcome} from '../core/run/driver.js'
import type {RunState} from '../core/run/state.js'
import {FileInbox} from '../state/inbox.js'
import {JournalFile} from '../state/journal.js'
import {acquireLock, type Lock} from '../state/lock.js'
import {lockStaleMs, type Context} from './context.js'

export type Observer = (event: JournalEvent, state: RunState) => void

export interface DriveOptions {
  observe?: Observer
  /** what to do once the driver exists, before it drives (a request of this command) */
  before?: (driver: RunDriver) => Promise<void> | void
  /** SIGINT/SIGTERM pause the run (journaled) instead of killing the process */
  handleSignals?: boolean
  onSignal?: (signal: string, count: number) => void
  driver?: Partial<DriverOptions>
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

export async function takeLock(ctx: Context): Promise<Lock> {
  await ctx.store.ensureDirs()
  const staleMs = lockStaleMs()
  // the heartbeat beats several times within the staleness limit, so a busy machine never looks dead
  return acquireLock(ctx.store.dir, {actor: ctx.actor, service: ctx.config.service, staleMs, updateMs: Math.min(1_000, staleMs / 4)})
}

/** Drives the run `runId` while holding `lock`; always releases the lock. */
export async function driveRun(ctx: Context, lock: Lock, runId: string, gateway: Gateway, options: DriveOptions = {}): Promise<Outcome> {
  const journal = await JournalFile.open(ctx.store.runPath(runId), {actor: ctx.actor, create: false, guard: () => lock.assertHeld()})
  const [sources, deployer] = await Promise.all([createSources(ctx.config), createDeployer(ctx.config)])
  // a takeover only of a run the stopped holder was driving, not of the last run's crashed driver
  const from = lock.takenOverFrom && wasDriving(journal.events(), lock.takenOverFrom) ? lock.takenOverFrom : undefined
  const driver = new RunDriver({
    ...(await runAdapters(ctx.store.dir, runId)),
    config: ctx.config,
    journal,
    gateway,
    deployer,
    sources,
    clock: systemClock,
    inbox: new FileInbox(ctx.store.dir),
    actor: ctx.actor,
    epoch: lock.epoch,
    takeover: from ? {from: actorName(from)} : undefined,
    observe: withNotifications(ctx.config, options.observe),
    options: options.driver,
  })
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1
    options.onSignal?.(signal, signals)
    // The first signal pauses at the next safe point; a publish under way finishes first.
    if (signals === 1) void driver.request('pause', {reason: `interrupted by ${signal}`})
  }
  if (options.handleSignals) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  try {
    await options.before?.(driver)
    return await driver.drive()
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await journal.close().catch(() => undefined)
    await Promise.all([gateway.close?.(), ...Object.values(sources).map((s) => s.close?.())]).catch(() => undefined)
    await lock.release().catch(() => undefined)
  }
}

/** the run's last driver to attach was `holder`, and it never detached */
function wasDriving(events: readonly JournalEvent[], holder: {host: string; pid: number}): boolean {
  const last = events.findLast((e) => e.type === 'driver.attached' || e.type === 'driver.detached')
  return last?.type === 'driver.attached' && last.actor.host === holder.host && last.actor.pid === holder.pid
}
