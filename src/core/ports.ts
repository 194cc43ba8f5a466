// The small interfaces through which the run engine reaches the world. Every
// adapter implements one of them; tests use in-memory versions.
import type {Check, Host, Rule, StickyKey, Tag} from './config/model.js'
import type {HookContext, HookStage} from './hooks.js'

/** What gray wants the gateway to do for one service. */
export interface Policy {
  service: string
  /** changes whenever the policy changes; read back to know what is served */
  revision: string
  /**
   * split: stable/gray upstreams with a weight and rules.
   * plain: one upstream (`stable`), no split and no rules (before and after a run).
   */
  mode: 'split' | 'plain'
  /** share of traffic for gray, in basis points (0..10000) */
  weightBp: number
  sticky: StickyKey
  /** the run's cohort seed (8 hex digits), salting the split's hash; absent: the key alone (traffic.rotate: false, runs from before) */
  seed?: string
  rules: Rule[]
  tag?: Tag
  stable: Host[]
  gray: Host[]
  /** a run of kind config: what the config store holds the run to (docs/config-release.md) */
  release?: ConfigRelease
}

/** A configuration release's facts, frozen when its run started: hashes and revisions, never values. */
export interface ConfigRelease {
  /** sha256 (hex) of the new value the gray key holds */
  valueSha256?: string
  /** the official key's mod revision when the run started; "0": it did not exist */
  officialModRevision?: string
  /** a plain policy: true once the run completes (the gray value becomes the official one); false drops the gray value */
  promote: boolean
}

export interface AppliedPolicy {
  revision: string
  weightBp: number
  mode: 'split' | 'plain'
}

export type RuleKind = Rule['kind']

export interface GatewayCapabilities {
  rules: RuleKind[]
  /** which sticky keys the percentage split can hash on */
  sticky: StickyKey['kind'][]
  /** false when the gateway splits per request rather than per user */
  stickySplit: boolean
  /** false when its split hashes the sticky key alone and cannot take a run's cohort seed (it needs traffic.rotate: false) */
  cohortSeed?: boolean
  tag: boolean
  /** why it cannot tag, when tag is false and the reason is not the gateway type's alone */
  tagReason?: string
  /** the header names it can read, when not every name (nginx drops names with `_`) */
  headerName?: {pattern: RegExp; expected: string}
  /** the ip-rule ranges it can match, when not every CIDR (ShenYu: IPv4 on an octet boundary only) */
  cidr?: {accepts: (cidr: string) => boolean; expected: string}
}

export interface Gateway {
  readonly type: string
  capabilities(): GatewayCapabilities
  /** the policy in the gateway's own language, for `plan` */
  render(policy: Policy): string
  /** applies the policy and resolves only once the gateway confirms it is in force */
  publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy>
  /** what the gateway serves now, or null when gray has published nothing there */
  readBack(signal?: AbortSignal): Promise<AppliedPolicy | null>
  /** throws, changing nothing, when a publish could not succeed here (a missing directory, a gateway that does not answer) */
  check?(signal?: AbortSignal): Promise<void>
  /** a config store (kind: config): reads what a new release starts from, changing nothing */
  releaseBase?(signal?: AbortSignal): Promise<ReleaseBase>
  close?(): Promise<void>
}

/** What `run.started` records of a configuration release (the store itself: src/core/config-store.ts): where its keys are, and hashes of the values. */
export interface ReleaseBase {
  store: string
  key: string
  grayKey: string
  policyKey: string
  valueSha256: string
  valueBytes: number
  /** "0" when the official key does not exist */
  officialModRevision: string
  officialSha256: string | null
}


export type Cohort = 'gray' | 'stable'

export interface MeasureRequest {
  check: Check
  cohort: Cohort
  /** the version this cohort runs (placeholders {version} are filled with it) */
  version: string
  /** the version the run replaces, for {previousVersion} in queries */
  previousVersion?: string
  service: string
  /** hosts of the cohort, for sources that read the hosts themselves */
  hosts: Host[]
  /** the range the measurement covers, already clipped to the current step */
  windowMs: number
  /** evaluation time, epoch ms */
  at: number
  signal?: AbortSignal
}

export interface Measurement {
  /** errors/total for ratio checks, the value itself for value checks; null: no data */
  value: number | null
  /** how many events the value rests on (total requests, sessions); null when unknown */
  samples: number | null
  /** the raw numbers as read, for the journal */
  raw: Record<string, unknown>
  /** the query text as sent, placeholders filled, for the journal */
  query?: string
  /** histogram checks: cumulative counts per upper bound `le` (+Inf: all), as read */
  buckets?: Array<{le: number; count: number}>
}

export interface MetricSource {
  readonly type: string
  /** throws MetricError on failure; returns value null when the source has no data */
  measure(req: MeasureRequest): Promise<Measurement>
  close?(): Promise<void>
}

export interface DeployRequest {
  host: Host
  version: string
  previousVersion?: string
  service: string
  signal?: AbortSignal
  /** lines of the command's output as they come */
  onOutput?: (line: string) => void
}

export interface DeployResult {
  /** last lines of output, for the journal */
  outputTail: string[]
  durationMs: number
}

export interface Deployer {
  /** runs the deploy and the health check; throws DeployError when either fails */
  deploy(req: DeployRequest): Promise<DeployResult>
}

export interface Clock {
  now(): number
  /** resolves after ms, or early (without throwing) when signal aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export interface Actor {
  user: string
  host: string
  pid: number
  ci: boolean
}

/** `user@host (pid N)`: who acts, in messages and the journal */
export function actorName(actor: Pick<Actor, 'user' | 'host' | 'pid'>): string {
  return `${actor.user}@${actor.host} (pid ${actor.pid})`
}

export interface JournalEvent<T = Record<string, unknown>> {
  seq: number
  at: string
  actor: Actor
  type: string
  data: T
}

export interface JournalWriter {
  /** appends one event, fsynced before it resolves */
  append(type: string, data: Record<string, unknown>): Promise<JournalEvent>
  events(): readonly JournalEvent[]
}

export type RequestKind = 'rollback' | 'promote' | 'pause' | 'resume'

export interface ControlRequest {
  id: string
  kind: RequestKind
  /** the run it was posted for; a driver of another run leaves it alone */
  runId?: string
  reason?: string
  full?: boolean
  actor: Actor
  at: string
}

/**
 * Requests from other terminals (gray rollback/promote/pause) to the live driver. The driver peeks,
 * journals what it has not journaled yet, then acks: a request is removed only once it is in the
 * journal, so a driver killed in between loses none, and its successor skips those it finds journaled.
 */
export interface Inbox {
  /** requests still waiting, oldest first; nothing is removed */
  peek(): Promise<ControlRequest[]>
  /** removes these requests (journaled, or not this run's); acking one already gone is no error */
  ack(requests: readonly ControlRequest[]): Promise<void>
  /** called when a request may have arrived, so the driver can wake */
  onArrival(listener: () => void): () => void
}

/** Where a deploy attempt's full output goes (src/adapters/deploy/log-files.ts); the journal keeps only its tail. */
export interface DeployLog {
  /** shown in the journal and in messages: a path, or another place to look */
  readonly where: string
  write(line: string): void
  /** flushes; never throws */
  close(): Promise<void>
}

export interface DeployLogs {
  /** `attempt` counts every deploy of the host in this run, from 1 */
  open(host: Host, attempt: number): DeployLog
}

export interface HookResult {
  ok: boolean
  exitCode: number | null
  /** why it failed, as the end of a sentence: "failed with exit code 3" */
  error?: string
  outputTail: string[]
  durationMs: number
}

/** Runs one hook command; never throws for the command's own failure. */
export interface HookRunner {
  run(stage: HookStage, argv: string[], ctx: HookContext, options: {timeoutMs: number; signal?: AbortSignal}): Promise<HookResult>
}
