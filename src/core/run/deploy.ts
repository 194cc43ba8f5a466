// Deploying a version to hosts: a few at a time, each attempt journaled and its output kept,
// retried; what a failure means depends on the deploy's purpose.
import pLimit from 'p-limit'

import {DeployError, errorMessage} from '../errors.js'
import type {RunContext} from './context.js'
import type {DeployPurpose} from './events.js'
import {failureBudget} from './next.js'
import {errorLines} from './output-lines.js'
import type {HostState} from './state.js'

type Failure = {error: string; log?: string; outputTail?: string[]}

/**
 * Deploys `version` to `hosts` (deploy.concurrency at once, 1 + deploy.retries attempts each).
 * A rollback stops a forward deploy; a revert is never stopped and its failures are the
 * rollback's to report. A completion may leave hosts behind within deploy.maxFailPercent;
 * any other failure pauses the run.
 */
export async function deployHosts(ctx: RunContext, hosts: HostState[], version: string, purpose: DeployPurpose, step?: number): Promise<void> {
  const {config} = ctx
  const limit = pLimit(Math.max(1, config.deploy.concurrency))
  const signal = purpose === 'revert' ? undefined : ctx.phase.signal
  const failed: Array<{host: HostState} & Failure> = []
  await Promise.all(
    hosts.map((host) =>
      limit(async () => {
        let last: Failure | undefined
        for (let attempt = 1; attempt <= 1 + config.deploy.retries; attempt++) {
          if (attempt > 1) await ctx.deps.clock.sleep(ctx.backoff(attempt - 1), signal)
          if (signal?.aborted) return
          last = await deployOne(ctx, host, version, purpose, attempt, step, signal)
          if (!last) return
        }
        if (last) failed.push({host, ...last})
      }),
    ),
  )
  if (failed.length === 0 || purpose === 'revert' || ctx.rollbackRequested) return
  if (purpose === 'complete') {
    const s = ctx.state()
    const alreadyLeft = s.hosts.filter((h) => h.abandoned).length
    if (alreadyLeft + failed.length <= failureBudget(config, s.hosts.length)) {
      for (const {host, error} of failed) await ctx.record('host.abandoned', {host: host.address, name: host.name, version, error})
      return
    }
  }
  const first = failed[0] as {host: HostState} & Failure
  const more = failed.length > 1 ? ` (and ${failed.length - 1} more: ${failed.slice(1).map((f) => f.host.name).join(', ')})` : ''
  const said = errorLines(first.outputTail ?? [])
  const output = said.length > 0 ? `; it said: ${said.map((l) => `"${l}"`).join(' / ')}` : ''
  const log = first.log ? ` (full output in ${first.log})` : ''
  await ctx.record('run.paused', {
    reason: `deploy of ${version} failed on ${first.host.name}: ${first.error}${more}${output}${log}; fix the deploy, then \`gray resume\` retries it, or \`gray rollback\``,
    cause: 'deploy',
  })
}

/** One deploy attempt; resolves undefined when the host runs the version, else why it does not. */
async function deployOne(
  ctx: RunContext,
  host: HostState,
  version: string,
  purpose: DeployPurpose,
  attempt: number,
  step: number | undefined,
  signal?: AbortSignal,
): Promise<Failure | undefined> {
  await ctx.record('host.deploy.started', {host: host.address, name: host.name, version, purpose, attempt, step})
  const count = ctx.state().hosts.find((h) => h.address === host.address)?.attempts ?? attempt
  const log = ctx.deps.deployLogs?.open({name: host.name, address: host.address}, count)
  log?.write(`# gray: deploy ${version} to ${host.name} (${host.address}), ${purpose}, attempt ${attempt}, ${new Date(ctx.deps.clock.now()).toISOString()}`)
  try {
    const result = await ctx.deps.deployer.deploy({
      host: {name: host.name, address: host.address},
      version,
      previousVersion: ctx.state().previousVersion ?? undefined,
      service: ctx.config.service,
      signal,
      onOutput: log ? (line) => log.write(line) : undefined,
    })
    log?.write(`# gray: ${host.name} runs ${version}`)
    await log?.close()
    await ctx.record('host.deploy.succeeded', {host: host.address, version, durationMs: result.durationMs, outputTail: result.outputTail, log: log?.where})
    return undefined
  } catch (error) {
    const message = errorMessage(error)
    log?.write(`# gray: ${message}`)
    await log?.close()
    const outputTail = error instanceof DeployError ? error.outputTail : []
    await ctx.record('host.deploy.failed', {
      host: host.address,
      version,
      error: message,
      outputTail,
      attempt,
      cancelled: signal?.aborted || undefined,
      log: log?.where,
    })
    return {error: message, log: log?.where, outputTail}
  }
}
