// `gray start`: begin a run, or take over this version's unfinished run.
import {freezeConfig} from '../core/config/frozen.js'
import {readLine} from '../core/config/inventory.js'
import {ConfigError, ExitCode, GrayError, LockedError} from '../core/errors.js'
import {previousVersionGap} from '../core/plan.js'
import {newCohortSeed, runStarted} from '../core/run/begin.js'
import {checkVersion} from '../core/version.js'
import type {Outcome} from '../core/run/driver.js'
import {isTerminal, replay} from '../core/run/state.js'
import type {Lease, LeaseHolder} from '../state/backend.js'
import {newRunId} from '../state/store.js'
import type {Context} from './context.js'
import {driveRun, preflight, takeLock, type DriveOptions} from './drive.js'
import {agentDrivingOrLapsed, awaitAgent, followAgent, handoffWaitMs, liveAgentsOf} from './handoff.js'
import {resolveInventory} from './inventory.js'
import {currentVersion, latestRun} from './runs.js'

export interface StartOptions extends DriveOptions {
  version: string
  previousVersion?: string
  /** a sentence the person starting the run should read before it goes on */
  warn?: (line: string) => void
  /** return once a live agent has taken the run (exit 0); with none, drive here */
  detach?: boolean
}

export interface StartResult extends Outcome {
  runId: string
  resumed: boolean
  /** the live agent the run was handed to, when one took it */
  agent?: LeaseHolder
}

export async function startRun(ctx: Context, options: StartOptions): Promise<StartResult> {
  checkVersion(options.version, '--version')
  if (options.previousVersion !== undefined) checkVersion(options.previousVersion, '--previous-version')
  // hosts from an inventory are read for a new run and frozen into its run.started; a run under way keeps its own
  const asRead = ctx
  ctx = await readInventoryForNewRun(ctx, options)
  const gateway = await preflight(ctx)
  // Look before locking too, so a refusal writes nothing.
  const unfinished = await refuseOtherVersion(ctx, options.version)
  // a new run whose first publish could not succeed is refused before anything is written
  if (!unfinished || isTerminal(unfinished.state)) {
    const known = options.previousVersion ?? (await currentVersion(ctx))
    const gap = previousVersionGap(ctx.config, known)
    if (gap?.refuse) throw new ConfigError(gap.message, gap.hint)
    const needs = known === null ? usesOfPreviousVersion(ctx) : []
    if (needs.length > 0) throw new ConfigError(`${needs[0]} uses {previousVersion}, but no previous version of ${ctx.config.service} is known`, 'pass --previous-version V')
    if (gap) options.warn?.(gap.message)
    // the run keeps its config in the journal: one holding a secret's value is refused before anything is written
    freezeConfig(ctx.config)
    await gateway.check?.(AbortSignal.timeout(15_000))
  }
  // a live agent for the service drives the run; this process only creates it (and follows it without --detach)
  const agents = await liveAgentsOf(ctx)
  let lock = await takeLock(ctx)
  let runId: string
  let resumed = false
  try {
    const latest = await refuseOtherVersion(ctx, options.version)
    if (latest && !isTerminal(latest.state)) {
      runId = latest.id
      resumed = true
    } else {
      const previousVersion = options.previousVersion ?? (await currentVersion(ctx))
      const gap = previousVersionGap(ctx.config, previousVersion)
      if (gap?.refuse) throw new ConfigError(gap.message, gap.hint)
      // a placeholder that could not be filled would fail only once hosts are deployed: refuse it now
      const needs = previousVersion === null ? usesOfPreviousVersion(ctx) : []
      if (needs.length > 0) {
        throw new ConfigError(`${needs[0]} uses {previousVersion}, but no previous version of ${ctx.config.service} is known`, 'pass --previous-version V')
      }
      runId = newRunId()
      const seed = ctx.config.traffic.rotate === false ? null : newCohortSeed()
      // a config run freezes the official key's revision (promote compares it) and the values' hashes
      const release = ctx.config.kind === 'config' ? await gateway.releaseBase?.(AbortSignal.timeout(30_000)) : undefined
      const started = runStarted(ctx.config, runId, options.version, previousVersion, {cohortSeed: seed, release, frozen: freezeConfig(ctx.config)}) as unknown as Record<string, unknown>
      await ctx.backend.createRun(ctx.service, runId, lock, {type: 'run.started', data: started})
    }
  } catch (error) {
    await lock.release().catch(() => undefined)
    throw error
  }
  if (agents.length > 0) {
    const handed = await handOver(ctx, lock, runId, resumed, options)
    if (handed) return handed
    const wait = Math.round(handoffWaitMs() / 1000)
    options.note?.(`no agent took run ${runId} within ${wait} s, though one serves ${ctx.service}; driving it here`, true)
    for (let round = 1; ; round++) {
      try {
        lock = await takeLock(ctx)
        break
      } catch (error) {
        const late = error instanceof LockedError && round < 5 ? await ctx.backend.readLease(ctx.service) : null
        if (!late?.alive || late.holder.kind !== 'agent') throw error
        // An agent holds the lease: it took the run just now, or it took the lease and died before it
        // attached (its lease lapses after its TTL, which may be longer than the hand-off wait). Either
        // an agent drives the run, or the lease lapses and the run is driven here, as just said.
        const driving = await agentDrivingOrLapsed(ctx, runId, late.epoch)
        if (driving) return agentTook(ctx, runId, resumed, driving.holder, options, 0)
      }
    }
  }
  // a run found under way drives its frozen hosts: driveRun reads gray.yaml's inventory again only to report changes
  const outcome = await driveRun(resumed ? asRead : ctx, lock, runId, gateway, options)
  return {...outcome, runId, resumed}
}

/**
 * Gives the run to a live agent: the lease this process took to create it is
 * released and an agent's is awaited. Null when none took it in time (a run
 * held at a wait is taken by an agent only on a request: it is driven here).
 */
async function handOver(ctx: Context, lock: Lease, runId: string, resumed: boolean, options: StartOptions): Promise<StartResult | null> {
  const events = await ctx.backend.readEvents(ctx.service, runId)
  if (resumed && events.at(-1)?.type === 'driver.detached') return null
  const epoch = lock.epoch
  const seq = events.at(-1)?.seq ?? 0
  await lock.release()
  const lease = await awaitAgent(ctx, runId, epoch, handoffWaitMs())
  if (!lease) return null
  return agentTook(ctx, runId, resumed, lease.holder, options, seq)
}

/** An agent drives the run: with --detach that is the answer (exit 0); else follow it from `seq` on. */
async function agentTook(ctx: Context, runId: string, resumed: boolean, agent: LeaseHolder, options: StartOptions, seq: number): Promise<StartResult> {
  options.note?.(`${ctx.service}: run ${runId} is driven by the agent on ${agent.host} (pid ${agent.pid})`)
  if (options.detach) {
    const state = replay(await ctx.backend.readEvents(ctx.service, runId))
    return {state, exitCode: ExitCode.ok, runId, resumed, agent}
  }
  return {...(await follow(ctx, runId, options, seq)), runId, resumed, agent}
}

async function follow(ctx: Context, runId: string, options: StartOptions, from: number): Promise<Outcome> {
  const followed = await followAgent(ctx, runId, {...options, from})
  if (!followed) {
    const version = replay(await ctx.backend.readEvents(ctx.service, runId)).version
    throw new GrayError(`nothing drives run ${runId} of ${ctx.service} any more: its agent stopped and no other took it`, {hint: `\`gray start --version ${version}\` drives it here`})
  }
  if (followed.stopped) options.note?.(`stopped following; the agent drives run ${runId} on; \`gray status --watch\` follows it`)
  return followed
}

async function readInventoryForNewRun(ctx: Context, options: StartOptions): Promise<Context> {
  if (!ctx.config.inventory) return ctx
  const latest = await latestRun(ctx)
  if (latest && !isTerminal(latest.state)) return ctx
  const {config, read} = await resolveInventory(ctx.config)
  for (const r of read) options.note?.(readLine(r))
  return {...ctx, config}
}

async function refuseOtherVersion(ctx: Context, version: string) {
  const latest = await latestRun(ctx)
  if (latest && !isTerminal(latest.state) && latest.state.version !== version) {
    throw new ConfigError(
      `${ctx.config.service} has an unfinished run ${latest.id} of ${latest.state.version} (${latest.state.status}), not ${version}`,
      `finish it with \`gray start --version ${latest.state.version}\` or end it with \`gray rollback\``,
    )
  }
  return latest
}

/** Where gray.yaml uses {previousVersion} in something it fills before a rollback could need it. */
function usesOfPreviousVersion(ctx: Context): string[] {
  const uses = (where: string, texts: readonly string[] | undefined) => ((texts ?? []).some((t) => t.includes('{previousVersion}')) ? [where] : [])
  const {deploy, hooks} = ctx.config
  return [
    ...uses('deploy.command', deploy.command),
    ...uses('deploy.health.url', deploy.health ? [deploy.health.url] : []),
    ...Object.entries(hooks ?? {}).flatMap(([stage, argv]) => (Array.isArray(argv) ? uses(`hooks.${stage}`, argv as string[]) : [])),
  ]
}
