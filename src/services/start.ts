// `gray start`: begin a run, or take over this version's unfinished run.
import {readLine} from '../core/config/inventory.js'
import {ConfigError} from '../core/errors.js'
import {previousVersionGap} from '../core/plan.js'
import {runStarted} from '../core/run/begin.js'
import {checkVersion} from '../core/version.js'
import type {Outcome} from '../core/run/driver.js'
import {isTerminal} from '../core/run/state.js'
import {newRunId} from '../state/store.js'
import type {Context} from './context.js'
import {driveRun, preflight, takeLock, type DriveOptions} from './drive.js'
import {resolveInventory} from './inventory.js'
import {currentVersion, latestRun} from './runs.js'

export interface StartOptions extends DriveOptions {
  version: string
  previousVersion?: string
  /** a sentence the person starting the run should read before it goes on */
  warn?: (line: string) => void
}

export interface StartResult extends Outcome {
  runId: string
  resumed: boolean
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
    await gateway.check?.(AbortSignal.timeout(15_000))
  }
  const lock = await takeLock(ctx)
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
      const started = runStarted(ctx.config, runId, options.version, previousVersion) as unknown as Record<string, unknown>
      await ctx.backend.createRun(ctx.service, runId, lock, {type: 'run.started', data: started})
    }
  } catch (error) {
    await lock.release().catch(() => undefined)
    throw error
  }
  // a run found under way drives its frozen hosts: driveRun reads gray.yaml's inventory again only to report changes
  const outcome = await driveRun(resumed ? asRead : ctx, lock, runId, gateway, options)
  return {...outcome, runId, resumed}
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
