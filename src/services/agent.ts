// `gray agent`: a long-running driver for the runs of its services. For each
// service it watches the state (the backend's notices, and a poll of at most a
// second in case one is missed) and takes, as a lease holder of kind 'agent',
// every unfinished run whose lease is free or lapsed: a run handed to it by
// `gray start`, or one whose driver died. The lease makes each run driven by
// exactly one of many agents; the driver's inbox acts on requests within a
// second; the agent drives with guarded waits, so gates are measured while a
// step waits for promote or the run is paused.
import {readdir, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {ConfigError, LockedError, errorMessage} from '../core/errors.js'
import {actorName, type JournalEvent} from '../core/ports.js'
import type {DriverOptions} from '../core/run/driver.js'
import {isTerminal, replay, type RunState} from '../core/run/state.js'
import {shown} from '../core/redact.js'
import type {AgentAnnouncement, Lease, LeaseHolder} from '../state/backend.js'
import {AgentMetrics} from './agent-metrics.js'
import {currentActor, loadContext, type Context} from './context.js'
import {driveRun, preflight} from './drive.js'

export type LogLevel = 'info' | 'warn' | 'error'
export interface AgentLogLine {
  time: string
  level: LogLevel
  service?: string
  run?: string
  message: string
}
export type AgentLogger = (line: AgentLogLine) => void

export interface AgentSettings {
  contexts: Context[]
  /** the lease TTL: a silent agent's runs are taken over after this long (default 5 s) */
  leaseTtlMs: number
  log: AgentLogger
  /** the safety poll (at most 1 s) */
  pollMs?: number
}

export const DEFAULT_LEASE_TTL_MS = 5_000
/** a run whose drive failed is tried again after this long, doubling up to a minute */
const RETRY_BASE_MS = 1_000
const RETRY_MAX_MS = 60_000

/** `-c a.yaml -c dir/`: the files, a directory meaning every *.yaml (and *.yml) in it, in name order */
export async function configFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = []
  for (const path of paths) {
    const info = await stat(path).catch(() => null)
    if (!info) throw new ConfigError(`${path} does not exist`, 'pass a gray.yaml or a directory of them with -c')
    if (!info.isDirectory()) {
      files.push(resolve(path))
      continue
    }
    const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort()
    if (names.length === 0) throw new ConfigError(`${path} holds no *.yaml file`, 'put the services\' gray.yaml files there, or pass them with -c')
    files.push(...names.map((n) => resolve(join(path, n))))
  }
  return [...new Set(files)]
}

/** Loads and checks every config before anything starts: the first problem fails them all (exit 2). */
export async function loadAgentContexts(paths: readonly string[]): Promise<Context[]> {
  const files = await configFiles(paths)
  const contexts: Context[] = []
  const seen = new Map<string, string>()
  for (const file of files) {
    let ctx: Context
    try {
      ctx = await loadContext(file)
      const gateway = await preflight(ctx)
      await gateway.close?.()
    } catch (error) {
      if (error instanceof ConfigError || (error as {exitCode?: number}).exitCode === 2) {
        const e = error as Error & {hint?: string}
        throw new ConfigError(`${file}: ${errorMessage(e)}`, e.hint)
      }
      throw error
    }
    const other = seen.get(ctx.service)
    if (other) throw new ConfigError(`${file} and ${other} are both for ${ctx.service}; an agent drives each service from one config`, 'pass each service once')
    seen.set(ctx.service, file)
    contexts.push(ctx)
  }
  return contexts
}

export class Agent {
  readonly metrics: AgentMetrics
  readonly holder: LeaseHolder
  private readonly workers: ServiceWorker[]
  private announcements: AgentAnnouncement[] = []
  private stopping = false

  constructor(private readonly settings: AgentSettings) {
    this.holder = {...currentActor(), kind: 'agent'}
    this.metrics = new AgentMetrics(settings.contexts.map((c) => c.service))
    this.workers = settings.contexts.map((ctx) => new ServiceWorker(ctx, this.holder, settings, this.metrics))
  }

  get services(): string[] {
    return this.workers.map((w) => w.ctx.service)
  }

  /** announces the agent and starts watching every service */
  async start(): Promise<void> {
    const ttl = this.settings.leaseTtlMs
    this.announcements = await Promise.all(this.workers.map((w) => w.ctx.backend.announceAgent(this.holder, [w.ctx.service], ttl)))
    await Promise.all(this.workers.map((w) => w.start()))
  }

  /**
   * Stops taking runs; each run being driven reaches a safe point (no deploy,
   * publish or hook under way) and its lease is released, so another agent takes
   * it over at once. The drives themselves are left behind: they can write nothing more.
   */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    await Promise.all(this.workers.map((w) => w.stop()))
    await Promise.all(this.announcements.map((a) => a.stop().catch(() => undefined)))
  }

  /** what /healthz says */
  health(): {ok: boolean; services: Array<{service: string; driving: string | null}>} {
    return {ok: !this.stopping, services: this.workers.map((w) => ({service: w.ctx.service, driving: w.drivingRun()}))}
  }
}

interface Driving {
  runId: string
  lease: Lease
  state: RunState | null
  /** set once the agent is stopping: the lease is released at the next safe point */
  onSafe: (() => void) | null
}

class ServiceWorker {
  private driving: Driving | null = null
  private checking = false
  private again = false
  private stopped = false
  /** a request (or a resync) came since the last look: a run held at a wait is taken again for it */
  private requestSeen = false
  private failures = 0
  private retryAt = 0
  private unsubscribe: (() => Promise<void>) | null = null
  private poll: NodeJS.Timeout | null = null

  constructor(
    readonly ctx: Context,
    private readonly holder: LeaseHolder,
    private readonly settings: AgentSettings,
    private readonly metrics: AgentMetrics,
  ) {}

  drivingRun(): string | null {
    return this.driving?.runId ?? null
  }

  async start(): Promise<void> {
    const service = this.ctx.service
    try {
      this.unsubscribe = await this.ctx.backend.subscribe(service, (notice) => {
        if (notice.kind === 'request' || notice.kind === 'resync') this.requestSeen = true
        this.tick()
      })
    } catch (error) {
      this.log('warn', `cannot listen for changes (${errorMessage(error)}); looking every second instead`)
    }
    this.poll = setInterval(() => this.tick(), Math.min(1_000, this.settings.pollMs ?? 500))
    this.log('info', `watching ${service} (state: ${this.ctx.backend.kind} at ${this.ctx.backend.where})`)
    this.tick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.poll) clearInterval(this.poll)
    await this.unsubscribe?.().catch(() => undefined)
    const driving = this.driving
    if (!driving) return
    this.log('info', 'stopping: the run is handed back at its next safe point (no deploy, publish or hook under way)', driving.runId)
    await new Promise<void>((done) => {
      driving.onSafe = done
      if (!driving.state || safePoint(driving.state)) done()
    })
    await driving.lease.release().catch(() => undefined)
    this.metrics.leaseGone(this.ctx.service)
    this.log('info', 'released the lease: another agent may take the run over at once', driving.runId)
  }

  private tick(): void {
    if (this.stopped) return
    if (this.checking) {
      this.again = true
      return
    }
    this.checking = true
    void this.look()
      .catch((error) => this.log('warn', `could not look at the state: ${errorMessage(error)}`))
      .finally(() => {
        this.checking = false
        if (this.again) {
          this.again = false
          this.tick()
        }
      })
  }

  /** takes the service's current run when it is unfinished and nobody drives it */
  private async look(): Promise<void> {
    if (this.stopped || this.driving || Date.now() < this.retryAt) return
    const {backend, service} = this.ctx
    const runId = await backend.currentRun(service)
    if (!runId) return this.metrics.run(service, null)
    const events = await backend.readEvents(service, runId)
    const state = replay(events)
    this.metrics.run(service, state)
    if (isTerminal(state)) return
    const lease = await backend.readLease(service)
    if (lease?.alive) {
      // someone drives it: a request is theirs to take
      this.requestSeen = false
      return
    }
    // A run whose last driver detached at a wait or a pause (a CLI's, or a drive without guarded
    // waits) is taken again only for a request, so a hold never turns into a loop of takes.
    if (heldAt(events) && !this.requestSeen) return
    this.requestSeen = false
    let taken: Lease
    try {
      taken = await backend.acquireLease(service, this.holder, {ttlMs: this.settings.leaseTtlMs, heartbeatMs: Math.max(100, Math.floor(this.settings.leaseTtlMs / 3)), waitMs: 0})
    } catch (error) {
      // another agent (or a CLI) was quicker: it drives the run
      if (error instanceof LockedError) return
      throw error
    }
    // under the lease, look again: the run may have ended, or a newer one begun, meanwhile
    const current = await backend.currentRun(service).catch(() => null)
    const now = current ? replay(await backend.readEvents(service, current).catch(() => [])) : null
    if (!current || !now || isTerminal(now) || this.stopped) {
      await taken.release().catch(() => undefined)
      return
    }
    this.drive(taken, current, now)
  }

  private drive(lease: Lease, runId: string, state: RunState): void {
    const service = this.ctx.service
    const driving: Driving = {runId, lease, state, onSafe: null}
    this.driving = driving
    const from = lease.takenOverFrom
    this.metrics.leaseTaken(service, Boolean(from))
    this.log('info', `took the run (${state.version}, ${state.status}) under lease epoch ${lease.epoch}${from ? `, over from ${from.kind} ${actorName(from)} whose lease lapsed` : ''}`, runId)
    lease.onLost((error) => this.log('warn', errorMessage(error), runId))
    const go = async () => {
      const gateway = await preflight(this.ctx)
      return driveRun(this.ctx, lease, runId, gateway, {
        driver: {guardWaits: true} satisfies Partial<DriverOptions>,
        observe: (event, s) => {
          driving.state = s
          this.metrics.event(service, event, s)
          this.log(levelOf(event), describe(event), runId)
          if (driving.onSafe && safePoint(s)) driving.onSafe()
        },
        note: (line, loud) => this.log(loud ? 'warn' : 'info', line, runId),
      })
    }
    void go()
      .then(
        (outcome) => {
          this.failures = 0
          const held = !isTerminal(outcome.state)
          this.log('info', held ? `detached: the run ${outcome.state.status} (exit ${outcome.exitCode}); it is taken again on the next request` : `the run ended ${outcome.state.status} (exit ${outcome.exitCode})`, runId)
        },
        (error: unknown) => {
          if (this.stopped && driving.onSafe) return
          if (error instanceof LockedError) {
            this.log('warn', `stopped driving: ${errorMessage(error)}`, runId)
            return
          }
          this.failures += 1
          const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1))
          this.retryAt = Date.now() + wait
          this.log('error', `the drive failed: ${errorMessage(error)}; trying again in ${Math.round(wait / 1000)} s`, runId)
        },
      )
      .finally(() => {
        if (this.driving === driving) this.driving = null
        this.metrics.leaseGone(service)
        void lease.release().catch(() => undefined)
        if (driving.onSafe) driving.onSafe()
        this.tick()
      })
  }

  private log(level: LogLevel, message: string, run?: string): void {
    try {
      this.settings.log({time: new Date().toISOString(), level, service: this.ctx.service, ...(run ? {run} : {}), message: shown(message)})
    } catch {
      // a log that cannot be written must not stop a driver
    }
  }
}

/** no side effect under way: every deploy, publish and hook that began was journaled as ended */
export function safePoint(s: RunState): boolean {
  return !s.publishPending && s.hosts.every((h) => !h.pending) && Object.values(s.hooks).every((h) => h.status !== 'started')
}

/** the last driver of the run detached where it waits for a person (no driver died mid-run) */
function heldAt(events: readonly JournalEvent[]): boolean {
  return events.at(-1)?.type === 'driver.detached'
}

function levelOf(event: JournalEvent): LogLevel {
  if (event.type === 'rollback.started' || event.type === 'run.rolled_back' || event.type === 'host.deploy.failed' || event.type === 'gateway.publish.failed' || event.type === 'rollback.warning') return 'warn'
  if (event.type === 'gate.measured' && (event.data as {verdict?: string}).verdict === 'fail') return 'warn'
  return 'info'
}

/** one line for a journal event: its type and the few facts a person scans for; never a raw blob */
function describe(event: JournalEvent): string {
  const d = event.data as Record<string, unknown>
  const facts: string[] = []
  const add = (key: string, label = key) => {
    const v = d[key]
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') facts.push(`${label}=${String(v)}`)
  }
  for (const key of ['index', 'weight', 'host', 'version', 'check', 'verdict', 'value', 'limit', 'kind', 'by', 'revision', 'epoch', 'takeover', 'reason', 'error', 'message']) add(key)
  return facts.length > 0 ? `${event.type} ${facts.join(' ')}` : event.type
}
