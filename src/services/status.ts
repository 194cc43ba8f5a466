// `gray status`: the run as the journal and the gateway tell it. Takes no lock, writes nothing.
import {setTimeout as delay} from 'node:timers/promises'

import {createGateway} from '../adapters/factory.js'
import {errorMessage, ExitCode, type ExitCodeValue} from '../core/errors.js'
import type {AppliedPolicy} from '../core/ports.js'
import {percentToGray} from '../core/run/policy.js'
import {summarize} from '../core/run/summary.js'
import {isEndedStatus, waitExitCode} from '../core/run/exit-codes.js'
import {lastMeasuredAt, type GuardState, type RunState} from '../core/run/state.js'
import {readStatusConfig} from '../core/config/light.js'
import {ServiceStore} from '../state/store.js'
import {loadStateContext, openState, type Context, type StateContext} from './context.js'
import {latestRun, readRun} from './runs.js'

export interface StatusDocument {
  service: string
  run: null | {
    id: string
    version: string
    previousVersion: string | null
    state: RunState['status']
    step: {index: number; count: number; weight: number | null; startedAt: string | null; bakeEndsAt: string | null}
    gateway: {intendedWeight: number | null; appliedWeight: number | null; mode: 'split' | 'plain' | null; revision: string | null; drift: boolean; error?: string
      /** each instance of a gateway fleet */
      instances?: Array<{name: string; revision: string | null; appliedWeight: number | null; drift: boolean; error?: string}>
    }
    hosts: Array<{name: string; address: string; pool: string; version: string | null; healthy: boolean | null; deploying: string | null; error?: string}>
    /** the run's cohort seed (run.started): salts the split's hash; null, the key alone (status always sets it) */
    cohortSeed?: string | null
    gates: Array<{name: string; verdict: string | null; value: number | null; limit: number | null; baseline: number | null; samples: number | null; at: string | null; reason: string | null; passes: number; trend: Array<number | null>}>
    /** who holds the run's lease: a CLI process or an agent, where; null when nobody ever did */
    driver: {kind?: 'cli' | 'agent'; pid: number; host: string; user: string; alive: boolean; since?: string; heartbeatAt?: string} | null
    /** false when the run is not finished and no live driver holds it: nothing measures its gates or rolls it back */
    guarded?: boolean
    /** a waiting or paused run whose live driver stays and guards it: the gates measured every intervalMs at `weight` */
    guard?: RunGuard
    /** the config the run drives with (the hash of its frozen config) and its last adoption; absent for runs started before runs kept it */
    config?: {hash: string; startedHash: string; adopted?: {hash: string; by: string; at: string; changed: string[]}}
    reason: string | null
    warnings: string[]
    startedAt: string
    updatedAt: string
  }
  events: Array<{seq: number; at: string; type: string; summary: string}>
}

/** How a live driver guards a waiting or paused run (the journal's driver.guarding, and the gates since). */
export interface RunGuard {
  /** the hold: `waiting for gray promote`, or the pause's reason */
  reason: string
  /** percent to gray the gates are measured at */
  weight: number
  /** null when nothing is measured (`unmeasured` says why): the driver only waits for a request */
  intervalMs: number | null
  unmeasured?: string
  since: string
  /** the last measurement at this step, the guard's or the bake's */
  lastMeasuredAt: string | null
}

/** What status needs of a Context; `gray status` builds it from a light read of gray.yaml. */
export interface StatusContext {
  service: string
  backend: StateContext['backend']
  /** the gateway to read back; absent without a gray.yaml (`--service` and GRAY_DATABASE_URL) */
  config?: Pick<Context['config'], 'service' | 'gateway'>
}

/**
 * The config status needs, read light (no schema) when it can be, else in full;
 * without a gray.yaml, `service` names the service and the state comes from GRAY_DATABASE_URL.
 */
export async function statusContext(file: string, service?: string): Promise<StatusContext> {
  const config = service === undefined ? await readStatusConfig(file) : null
  if (config) {
    const store = new ServiceStore(config.state.dir, config.service)
    await store.trust()
    return {config, service: config.service, backend: openState(config.state)}
  }
  return loadStateContext(file, service)
}

/** states a live driver moves on by itself; waiting and paused runs wait for a person */
const DRIVEN = new Set<string>(['deploying', 'running', 'baking', 'rolling_back'])
/** how long a run that should be driven may have no live driver before --wait gives up on it (a handover takes less) */
const UNGUARDED_MS = 3_000

export interface WaitResult {
  doc: StatusDocument
  code: ExitCodeValue
  /** set when the wait stopped because nothing drives a run that needs a driver */
  unguarded?: true
}

/**
 * `status --wait`: polls the journal until the run ends or `timeoutMs` passes; the code
 * is the run's. A run that needs a driver and has had none alive for a few seconds
 * will not end by itself: the wait stops (exit 4, the run has not ended) with `unguarded`.
 */
export async function waitForEnd(ctx: StatusContext, options: {events: number; timeoutMs: number; onPoll?: (doc: StatusDocument) => void}): Promise<WaitResult> {
  let doc = await statusOf(ctx, {events: options.events})
  const until = Date.now() + options.timeoutMs
  let deadSince: number | null = null
  for (;;) {
    options.onPoll?.(doc)
    const run = doc.run
    if (!run || isEndedStatus(run.state) || Date.now() >= until) break
    const driverless = DRIVEN.has(run.state) && !run.driver?.alive
    deadSince = driverless ? (deadSince ?? Date.now()) : null
    if (deadSince !== null && Date.now() - deadSince >= UNGUARDED_MS) {
      return {doc: await statusOf(ctx, {events: options.events}), code: ExitCode.paused, unguarded: true}
    }
    await delay(Math.min(500, Math.max(0, until - Date.now())))
    doc = await statusOf(ctx, {events: options.events, readBack: false})
  }
  doc = await statusOf(ctx, {events: options.events})
  return {doc, code: doc.run ? waitExitCode(doc.run.state) : ExitCode.ok}
}

export async function statusOf(ctx: StatusContext, options: {runId?: string; events?: number; readBack?: boolean} = {}): Promise<StatusDocument> {
  const run = options.runId ? await readRun(ctx, options.runId) : await latestRun(ctx)
  if (!run) return {service: ctx.service, run: null, events: []}
  const s = run.state
  const step = s.steps[s.stepIndex]
  const bakeEndsAt = s.bakeStartedAt && step ? new Date(Date.parse(s.bakeStartedAt) + step.bakeMs).toISOString() : null
  const [served, holder] = await Promise.all([options.readBack === false ? null : readBack(ctx), ctx.backend.readLease(ctx.service)])
  const intended = s.intended ? percentToGray(s.intended, s.status === 'completed') : null
  const applied = served && 'applied' in served ? served.applied : null
  const driverAlive = Boolean(holder?.alive)
  return {
    service: ctx.service,
    run: {
      id: run.id,
      version: s.version,
      previousVersion: s.previousVersion,
      state: s.status,
      step: {index: s.stepIndex, count: s.steps.length, weight: step?.weight ?? null, startedAt: s.stepStartedAt, bakeEndsAt},
      gateway: {
        intendedWeight: intended,
        appliedWeight: applied ? percentToGray(applied, s.status === 'completed') : null,
        mode: applied?.mode ?? null,
        revision: applied?.revision ?? null,
        // drift: the gateway serves something other than what the journal last confirmed
        drift: Boolean(
          (applied && s.applied && !s.publishPending && applied.revision !== s.applied.revision) ||
            (served && 'instances' in served && served.instances && s.applied && !s.publishPending && served.instances.some((i) => i.applied?.revision !== s.applied?.revision)),
        ),
        ...(served && 'error' in served ? {error: served.error} : {}),
        ...(served && 'instances' in served && served.instances
          ? {
              instances: served.instances.map((i) => ({
                name: i.name,
                revision: i.applied?.revision ?? null,
                appliedWeight: i.applied ? percentToGray(i.applied, s.status === 'completed') : null,
                drift: Boolean(s.applied && !s.publishPending && (i.error !== undefined || i.applied?.revision !== s.applied.revision)),
                ...(i.error === undefined ? {} : {error: i.error}),
              })),
            }
          : {}),
      },
      hosts: s.hosts.map((h) => ({
        name: h.name,
        address: h.address,
        pool: h.pool,
        version: h.version,
        healthy: h.healthy,
        deploying: h.pending?.version ?? null,
        ...(h.lastError && h.healthy === false ? {error: h.lastError} : {}),
      })),
      gates: Object.values(s.gates).map((g) => ({
        name: g.name,
        verdict: g.last?.verdict ?? null,
        value: g.last?.value ?? null,
        limit: g.last?.limit ?? null,
        baseline: g.last?.baseline ?? null,
        samples: g.last?.samples ?? null,
        at: g.last?.at ?? null,
        reason: g.last?.reason ?? null,
        passes: g.passes,
        trend: g.history,
      })),
      cohortSeed: s.cohortSeed,
      driver: holder
        ? {
            kind: holder.holder.kind,
            pid: holder.holder.pid,
            host: holder.holder.host,
            user: holder.holder.user,
            alive: driverAlive,
            since: holder.since,
            ...(holder.heartbeatAt ? {heartbeatAt: holder.heartbeatAt} : {}),
          }
        : null,
      guarded: isEndedStatus(s.status) || driverAlive,
      ...(driverAlive && s.guarding && (s.status === 'waiting' || s.status === 'paused') ? {guard: guardOf(s, s.guarding)} : {}),
      ...(s.config ? {config: {hash: s.config.hash, startedHash: s.config.startedHash, ...(s.config.adopted ? {adopted: s.config.adopted} : {})}} : {}),
      reason: s.reason,
      warnings: s.warnings,
      startedAt: s.startedAt,
      updatedAt: s.updatedAt,
    },
    events: run.events.slice(-(options.events ?? 10)).map((e) => ({seq: e.seq, at: e.at, type: e.type, summary: summarize(e)})),
  }
}

function guardOf(s: RunState, g: GuardState): RunGuard {
  const last = lastMeasuredAt(s)
  return {
    reason: g.reason,
    weight: g.weightBp / 100,
    intervalMs: g.intervalMs,
    ...(g.unmeasured ? {unmeasured: g.unmeasured} : {}),
    since: g.since,
    lastMeasuredAt: last > 0 ? new Date(last).toISOString() : null,
  }
}

/** A plain policy has no split: it sends everything to the new version once the run completed, else to the old one. */
type InstanceRead = {name: string; applied: AppliedPolicy | null; error?: string}

async function readBack(ctx: StatusContext): Promise<{applied: AppliedPolicy | null; instances?: InstanceRead[]} | {error: string; instances?: InstanceRead[]}> {
  if (!ctx.config) return {error: 'not read back: without a gray.yaml gray does not know the gateway (run status where it is to compare)'}
  try {
    const gateway = await createGateway(ctx.config)
    try {
      const each = 'readBackEach' in gateway && typeof gateway.readBackEach === 'function' ? ((await gateway.readBackEach(AbortSignal.timeout(3_000))) as InstanceRead[]) : null
      if (each) {
        const revisions = new Set(each.map((i) => i.applied?.revision ?? null))
        const broken = each.find((i) => i.error !== undefined)
        if (broken || revisions.size > 1) return {error: broken ? `${broken.name}: ${broken.error}` : 'the instances serve different revisions', instances: each}
        return {applied: each[0]?.applied ?? null, instances: each}
      }
      return {applied: await gateway.readBack(AbortSignal.timeout(3_000))}
    } finally {
      await gateway.close?.()
    }
  } catch (error) {
    return {error: errorMessage(error)}
  }
}
