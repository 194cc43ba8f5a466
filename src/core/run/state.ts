// Replaying the journal gives the run's state. Pure: no I/O, no clock.
import type {Host, HookStage, Step} from '../config/model.js'
import type {Verdict} from '../gates/judge.js'
import {isBeforeHook} from '../hooks.js'
import type {Evidence} from '../gates/sequential.js'
import type {JournalEvent, ReleaseBase} from '../ports.js'
import type {DeployPurpose, EventData, EventType, PublishPurpose} from './events.js'
import {changedWarning, unreadWarning} from './inventory.js'

export type RunStatus =
  | 'deploying'
  | 'running'
  | 'baking'
  | 'waiting'
  | 'paused'
  | 'rolling_back'
  | 'rolled_back'
  | 'completed'
  | 'failed'

export const TERMINAL: readonly RunStatus[] = ['rolled_back', 'completed', 'failed']

export interface HostState extends Host {
  pool: 'gray' | 'stable'
  /** the version last confirmed on the host; null when unknown */
  version: string | null
  /** a deploy that started and has not been confirmed or failed */
  pending: {version: string; purpose: DeployPurpose} | null
  healthy: boolean | null
  /** a stable host that was given the new version during the run */
  converted: boolean
  lastError?: string
  failures: number
  /** deploys started on this host in this run (names its log files) */
  attempts: number
  /** the completion went on without this host (deploy.maxFailPercent); it takes no traffic */
  abandoned: boolean
}

export interface HookRun {
  stage: HookStage
  /** ran: finished (ok or not); started: began and has not reported (its driver died) */
  status: 'started' | 'ok' | 'failed'
}

export interface GateMeasurement {
  verdict: Verdict
  value: number | null
  limit: number | null
  baseline: number | null
  samples: number | null
  reason: string
  at: string
  step: number
}

export interface GateState {
  name: string
  last: GateMeasurement | null
  /** recent values across steps, oldest first, for trends */
  history: Array<number | null>
  passes: number
  measurements: number
  consecutiveFails: number
  consecutiveErrors: number
  /** judge: sequential — the run's evidence so far (it carries over steps); null before any */
  evidence: Evidence | null
}

export interface PublishState {
  revision: string
  weightBp: number
  mode: 'split' | 'plain'
  purpose: PublishPurpose
  step: number
  at: string
  /** addresses in each upstream */
  stable: string[]
  gray: string[]
}

/**
 * What the rollback has done since it began, or since the driver now carrying it out attached: a
 * driver that takes a rollback over goes through its sequence again from the top (./rollback.ts).
 */
export interface RollbackPass {
  /** rollback and plain publishes the gateway confirmed */
  confirmed: PublishPurpose[]
  /** what the warnings given were about */
  warned: Array<'traffic' | 'hosts'>
  /** addresses of the hosts whose revert deploy started */
  reverting: string[]
}

/** A driver guards the hold the run is at (./guard.ts): journaled by driver.guarding, ended by any change of the hold. */
export interface GuardState {
  reason: string
  weightBp: number
  intervalMs: number | null
  unmeasured: string | null
  since: string
}

export interface RunState {
  runId: string
  service: string
  version: string
  previousVersion: string | null
  /** a run of kind config: what it releases (docs/config-release.md) */
  release?: ReleaseBase
  steps: Step[]
  checks: string[]
  /** run.started's cohort seed: salts every split this run publishes; null: the key alone */
  cohortSeed: string | null
  startedAt: string
  updatedAt: string
  lastSeq: number
  status: RunStatus
  stepIndex: number
  stepStartedAt: string | null
  /** when the step's weight was confirmed in force: the bake counts from here */
  bakeStartedAt: string | null
  stepPassed: boolean
  waiting: boolean
  promote: {full: boolean} | null
  paused: {reason: string; cause: string} | null
  rollback: {reason: string; by: string; at: string} | null
  rollbackPass: RollbackPass
  warnings: string[]
  completing: boolean
  outcome: 'completed' | 'rolled_back' | 'failed' | null
  reason: string | null
  intended: PublishState | null
  applied: PublishState | null
  publishPending: boolean
  hosts: HostState[]
  /** deploy phases that started a host deploy: gray, step-N, complete, revert */
  deployedPhases: string[]
  /** by `${stage}:${key}` */
  hooks: Record<string, HookRun>
  gates: Record<string, GateState>
  driver: {epoch: number; pid: number; host: string; user: string} | null
  /** the driver that journaled it guards the current hold; null once the hold changes or the driver goes */
  guarding: GuardState | null
  /** the config the run drives with (its hash), and the last `config.adopted`; absent for runs started before it was kept */
  config?: {hash: string; startedHash: string; adopted: {hash: string; by: string; at: string; changed: string[]} | null}
}

const HISTORY = 30

function data<T extends EventType>(event: JournalEvent, _type: T): EventData[T] {
  return event.data as unknown as EventData[T]
}

function initial(event: JournalEvent): RunState {
  const d = data(event, 'run.started')
  const hosts: HostState[] = [
    ...d.hosts.gray.map((h) => ({...h, pool: 'gray' as const})),
    ...d.hosts.stable.map((h) => ({...h, pool: 'stable' as const})),
  ].map((h) => ({...h, version: d.previousVersion, pending: null, healthy: null, converted: false, failures: 0, attempts: 0, abandoned: false}))
  return {
    runId: d.runId,
    service: d.service,
    version: d.version,
    previousVersion: d.previousVersion,
    ...(d.release ? {release: d.release} : {}),
    steps: d.steps,
    checks: d.checks,
    cohortSeed: d.cohortSeed ?? null,
    startedAt: event.at,
    updatedAt: event.at,
    lastSeq: event.seq,
    status: 'deploying',
    stepIndex: -1,
    stepStartedAt: null,
    bakeStartedAt: null,
    stepPassed: false,
    waiting: false,
    promote: null,
    paused: null,
    rollback: null,
    rollbackPass: freshPass(),
    warnings: [],
    completing: false,
    outcome: null,
    reason: null,
    intended: null,
    applied: null,
    publishPending: false,
    hosts,
    deployedPhases: [],
    hooks: {},
    gates: Object.fromEntries(
      d.checks.map((name) => [name, {name, last: null, history: [], passes: 0, measurements: 0, consecutiveFails: 0, consecutiveErrors: 0, evidence: null}]),
    ),
    driver: null,
    guarding: null,
    ...(d.configHash ? {config: {hash: d.configHash, startedHash: d.configHash, adopted: null}} : {}),
  }
}

/** events after which a guard journaled before no longer describes the run: the hold changed, or its driver went */
const ENDS_GUARD = new Set<string>([
  'driver.attached',
  'driver.detached',
  'step.started',
  'step.waiting',
  'run.paused',
  'run.resumed',
  'run.promoted',
  'rollback.started',
  'run.rolled_back',
  'run.completed',
  'run.failed',
])

function freshPass(): RollbackPass {
  return {confirmed: [], warned: [], reverting: []}
}

function apply(s: RunState, e: JournalEvent): void {
  s.lastSeq = e.seq
  s.updatedAt = e.at
  const host = (address: string) => s.hosts.find((h) => h.address === address)
  if (ENDS_GUARD.has(e.type)) s.guarding = null
  switch (e.type) {
    case 'driver.guarding': {
      const d = data(e, 'driver.guarding')
      s.guarding = {reason: d.reason, weightBp: d.weightBp, intervalMs: d.intervalMs, unmeasured: d.unmeasured ?? null, since: e.at}
      break
    }
    case 'driver.attached': {
      const d = data(e, 'driver.attached')
      s.driver = {epoch: d.epoch, pid: e.actor.pid, host: e.actor.host, user: e.actor.user}
      s.rollbackPass = freshPass()
      break
    }
    case 'host.deploy.started': {
      const d = data(e, 'host.deploy.started')
      const h = host(d.host)
      if (h) {
        h.pending = {version: d.version, purpose: d.purpose}
        h.healthy = null
        h.attempts += 1
        if (d.purpose === 'step' || d.purpose === 'complete') h.converted = true
      }
      if (d.purpose === 'revert' && !s.rollbackPass.reverting.includes(d.host)) s.rollbackPass.reverting.push(d.host)
      const phase = deployPhase(d.purpose, d.step)
      if (!s.deployedPhases.includes(phase)) s.deployedPhases.push(phase)
      break
    }
    case 'config.adopted': {
      const d = data(e, 'config.adopted')
      s.config = {hash: d.hash, startedHash: s.config?.startedHash ?? d.previousHash, adopted: {hash: d.hash, by: d.by, at: e.at, changed: d.changed}}
      break
    }
    case 'host.abandoned': {
      const h = host(data(e, 'host.abandoned').host)
      if (h) h.abandoned = true
      break
    }
    case 'hook.started': {
      const d = data(e, 'hook.started')
      s.hooks[hookId(d.stage, d.key)] = {stage: d.stage, status: 'started'}
      break
    }
    case 'hook.ran': {
      const d = data(e, 'hook.ran')
      s.hooks[hookId(d.stage, d.key)] = {stage: d.stage, status: d.ok ? 'ok' : 'failed'}
      if (!d.ok && !d.stage.startsWith('before')) s.warnings.push(`hook ${d.stage} ${d.error ?? 'failed'}`)
      break
    }
    case 'host.deploy.succeeded': {
      const d = data(e, 'host.deploy.succeeded')
      const h = host(d.host)
      if (h) {
        h.version = d.version
        h.pending = null
        h.healthy = true
        h.lastError = undefined
      }
      break
    }
    case 'host.deploy.failed': {
      const d = data(e, 'host.deploy.failed')
      const h = host(d.host)
      if (h) {
        // The command may have run partly: the host's version is no longer known.
        h.version = null
        h.pending = null
        h.healthy = false
        h.lastError = d.error
        h.failures += 1
      }
      break
    }
    case 'step.started': {
      const d = data(e, 'step.started')
      s.stepIndex = d.index
      s.stepStartedAt = e.at
      s.bakeStartedAt = null
      s.stepPassed = false
      s.waiting = false
      s.promote = s.promote?.full ? s.promote : null
      for (const g of Object.values(s.gates)) {
        g.passes = 0
        g.measurements = 0
        g.consecutiveFails = 0
        g.consecutiveErrors = 0
      }
      break
    }
    case 'gateway.publish.started': {
      const d = data(e, 'gateway.publish.started')
      s.intended = {revision: d.revision, weightBp: d.weightBp, mode: d.mode, purpose: d.purpose, step: d.step, at: e.at, stable: d.stable, gray: d.gray}
      s.publishPending = true
      break
    }
    case 'gateway.publish.confirmed': {
      const d = data(e, 'gateway.publish.confirmed')
      const lists = s.intended?.revision === d.revision ? {stable: s.intended.stable, gray: s.intended.gray} : {stable: [], gray: []}
      s.applied = {revision: d.revision, weightBp: d.weightBp, mode: d.mode, purpose: d.purpose, step: d.step, at: e.at, ...lists}
      if (s.intended?.revision === d.revision) s.publishPending = false
      if (d.purpose === 'step' && d.step === s.stepIndex && s.bakeStartedAt === null) s.bakeStartedAt = e.at
      if ((d.purpose === 'rollback' || d.purpose === 'plain') && !s.rollbackPass.confirmed.includes(d.purpose)) s.rollbackPass.confirmed.push(d.purpose)
      break
    }
    case 'gate.measured': {
      const d = data(e, 'gate.measured')
      const g = (s.gates[d.check] ??= {name: d.check, last: null, history: [], passes: 0, measurements: 0, consecutiveFails: 0, consecutiveErrors: 0, evidence: null})
      g.last = {verdict: d.verdict, value: d.value, limit: d.limit, baseline: d.baseline, samples: d.samples, reason: d.reason, at: d.evaluatedAt, step: d.step}
      if (d.evidence) g.evidence = d.evidence
      g.history.push(d.value)
      if (g.history.length > HISTORY) g.history.shift()
      if (d.step !== s.stepIndex) break
      g.measurements += 1
      if (d.verdict === 'pass') {
        // a guard's pass is no evidence for advancing: only the bake's count towards minPasses
        if (!d.guard) g.passes += 1
        g.consecutiveFails = 0
        g.consecutiveErrors = 0
      } else if (d.verdict === 'fail') {
        g.consecutiveFails += 1
        g.consecutiveErrors = 0
      } else if (d.verdict === 'error') {
        g.consecutiveErrors += 1
      } else {
        g.consecutiveErrors = 0
      }
      break
    }
    case 'step.passed':
      s.stepPassed = true
      break
    case 'step.waiting':
      s.waiting = true
      break
    case 'run.paused': {
      const d = data(e, 'run.paused')
      s.paused = {reason: d.reason, cause: d.cause}
      s.reason = d.reason
      break
    }
    case 'run.resumed':
      s.paused = null
      s.reason = null
      break
    case 'run.promoted': {
      const d = data(e, 'run.promoted')
      s.promote = {full: d.full}
      s.paused = null
      s.waiting = false
      s.reason = null
      break
    }
    case 'rollback.started': {
      const d = data(e, 'rollback.started')
      s.rollback = {reason: d.reason, by: d.by, at: e.at}
      s.rollbackPass = freshPass()
      s.paused = null
      s.waiting = false
      s.reason = d.reason
      break
    }
    case 'inventory.changed': {
      const d = data(e, 'inventory.changed')
      s.warnings.push(changedWarning(d.pool, d.from, d))
      break
    }
    case 'inventory.unreadable': {
      const d = data(e, 'inventory.unreadable')
      s.warnings.push(unreadWarning(d.pool, d.from, d.error))
      break
    }
    case 'rollback.warning': {
      const d = data(e, 'rollback.warning')
      s.warnings.push(d.message)
      if (d.about && !s.rollbackPass.warned.includes(d.about)) s.rollbackPass.warned.push(d.about)
      break
    }
    case 'run.rolled_back':
      s.outcome = 'rolled_back'
      s.reason = data(e, 'run.rolled_back').reason
      break
    case 'run.completing':
      s.completing = true
      break
    case 'run.completed':
      s.outcome = 'completed'
      s.reason = null
      break
    case 'run.failed':
      s.outcome = 'failed'
      s.reason = data(e, 'run.failed').error
      break
    default:
      break
  }
  s.status = statusOf(s)
}

function statusOf(s: RunState): RunStatus {
  if (s.outcome) return s.outcome
  if (s.rollback) return 'rolling_back'
  if (s.paused) return 'paused'
  if (s.waiting) return 'waiting'
  if (s.hosts.some((h) => h.pending) || s.completing || s.stepIndex < 0) return 'deploying'
  if (s.publishPending) return 'running'
  if (s.bakeStartedAt && !s.stepPassed) return 'baking'
  return 'running'
}

/** The state after all events; throws when the first event does not start a run. */
export function replay(events: readonly JournalEvent[]): RunState {
  const first = events.find((e) => e.type === 'run.started')
  if (!first) throw new Error('journal has no run.started event')
  const state = initial(first)
  for (const e of events) if (e.seq > first.seq) apply(state, e)
  state.status = statusOf(state)
  return state
}

/** Applies, in place, the events that came after the state's last seq. */
export function advance(state: RunState, events: readonly JournalEvent[]): RunState {
  const first = events[0]?.seq ?? 0
  for (let i = Math.max(0, state.lastSeq - first + 1); i < events.length; i++) {
    const e = events[i] as JournalEvent
    if (e.seq > state.lastSeq) apply(state, e)
  }
  return state
}

/** The deploy phase a deploy belongs to; deploy hooks run once per phase. */
export function deployPhase(purpose: DeployPurpose, step?: number): string {
  return purpose === 'step' ? `step-${step ?? 0}` : purpose
}

export function hookId(stage: HookStage, key: string): string {
  return `${stage}:${key}`
}

/** A hook has had its turn: a before-hook once it passed, any other once it ran. */
export function hookDone(s: RunState, stage: HookStage, key: string): boolean {
  const run = s.hooks[hookId(stage, key)]
  if (!run || run.status === 'started') return false
  return run.status === 'ok' || !isBeforeHook(stage)
}

export function isTerminal(s: RunState): boolean {
  return TERMINAL.includes(s.status)
}

/** The run waits for a person (a pause, or a hold for promote): what an in-process drive would have stopped at (exit 4). */
export function holds(s: RunState): boolean {
  return !s.rollback && !s.outcome && (Boolean(s.paused) || (s.waiting && !s.promote))
}

/** Hosts that serve the new version (the gray upstream): the gray pool and converted stable hosts, once healthy. */
export function grayUpstream(s: RunState): HostState[] {
  return s.hosts.filter((h) => (h.pool === 'gray' || h.converted) && h.version === s.version && !h.pending)
}

/** Stable hosts still on the old version and in service. */
export function stableUpstream(s: RunState): HostState[] {
  return s.hosts.filter((h) => h.pool === 'stable' && !h.converted && !h.pending)
}

/** Hosts that got (or may have got) the new version: what a rollback must put back. */
export function hostsToRevert(s: RunState): HostState[] {
  return s.hosts.filter((h) => (h.pool === 'gray' || h.converted) && (h.version !== s.previousVersion || h.pending !== null))
}

/** The last time any gate was measured at the current step (ms); 0 before any. */
export function lastMeasuredAt(s: RunState): number {
  return Math.max(0, ...Object.values(s.gates).map((g) => (g.last && g.last.step === s.stepIndex ? Date.parse(g.last.at) : 0)))
}
