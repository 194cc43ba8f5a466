// The one port through which gray reaches a service's state, whatever holds it:
// `local` (the journal directory, src/state/local.ts) or `postgres`
// (src/state/postgres/). Both pass the same conformance suite
// (test/integration/state/conformance.ts), so the engine cannot tell them apart.
import {resolve} from 'node:path'

import type {StateSettings} from '../core/config/model.js'
import type {Actor, ControlRequest, JournalEvent} from '../core/ports.js'
import type {NewRequest} from './inbox.js'
import {describeUrl} from './postgres/url.js'

export type {NewRequest} from './inbox.js'

export type BackendKind = 'local' | 'postgres'

/** Who holds a lease: the process (host, pid), the user, and whether it is a CLI or an agent. */
export interface LeaseHolder extends Actor {
  kind: 'cli' | 'agent'
}

export interface LeaseOptions {
  /** a holder whose heartbeat is older than this has lapsed and may be taken over (local: at least 2000) */
  ttlMs: number
  /**
   * how long to wait for a lapsed or lapsing holder's lease to become free; 0: answer at once.
   * A live holder is never waited for: acquire fails with LockedError (exit 5).
   */
  waitMs?: number
  /** how often the heartbeat beats (default: a third of the TTL, at least 1 s for local) */
  heartbeatMs?: number
}

/** What a reader sees of a service's lease, without taking it. */
export interface LeaseState {
  holder: LeaseHolder
  epoch: number
  /** the last heartbeat, ISO time */
  heartbeatAt?: string
  /** when the holder took the lease, ISO time */
  since?: string
  /** false once the heartbeat is older than the TTL (or the holder is known to be gone) */
  alive: boolean
}

/** A held driver lease. Heartbeats run by themselves until release or loss. */
export interface Lease {
  readonly service: string
  readonly epoch: number
  readonly holder: LeaseHolder
  readonly ttlMs: number
  /** the holder whose lapsed lease this one took over */
  readonly takenOverFrom?: LeaseHolder & {epoch: number}
  /** heartbeat now; throws LockedError when the lease was lost (deposed or lapsed) */
  renew(): Promise<void>
  /** gives the lease up; never removes a successor's */
  release(): Promise<void>
  /** throws LockedError unless this process can still prove it holds the lease: call before every side effect */
  assertHeld(): void
  onLost(listener: (error: Error) => void): () => void
}

/** A new event as a writer hands it over; the backend gives it its seq, time and actor. */
export interface NewEvent {
  type: string
  data: Record<string, unknown>
}

export interface AppendOptions {
  /** the seq the first event must get; the append fails when the run has moved on (a stale writer) */
  expectSeq?: number
}

/** What a subscriber is told; it re-reads what it needs, a notice carries no state. */
export type Notice =
  /** seq: the newest event's, or 0 when the backend cannot tell (a journal seen growing) */
  | {kind: 'event'; service: string; runId: string; seq: number}
  | {kind: 'request'; service: string}
  /** the notification channel was lost and is back: notices may have been missed, re-read */
  | {kind: 'resync'; service: string}

export type ImportOutcome = 'imported' | 'identical'

/** A live `gray agent` as the state knows it: who, which services, since when. */
export interface AgentPresence {
  /** one per announcement */
  id: string
  holder: LeaseHolder
  services: string[]
  /** ISO times */
  since: string
  heartbeatAt: string
}

/** An agent's presence while it runs: heartbeats by itself until stopped. */
export interface AgentAnnouncement {
  readonly id: string
  /** heartbeat now (the timer does this every TTL/3) */
  beat(): Promise<void>
  /** the agent leaves: it is no longer live for any service at once */
  stop(): Promise<void>
}

export interface StateBackend {
  readonly kind: BackendKind
  /** where the state lives, for messages: a directory, or postgres://host:port/db (never a password) */
  readonly where: string

  /** creates a run holding its first event (seq 1), under the lease; fails when the run exists */
  createRun(service: string, runId: string, lease: Lease, first: NewEvent): Promise<JournalEvent>
  /**
   * Appends events to a run, all or none, with gap-free seq, fsynced/committed before it resolves.
   * Checks in the same step that `lease` still holds the service (fencing): a deposed writer's append fails with LockedError.
   */
  append(service: string, runId: string, lease: Lease, events: NewEvent[], options?: AppendOptions): Promise<JournalEvent[]>
  /** the run's events from `fromSeq` (default 1) on, in seq order; fails when there is no such run */
  readEvents(service: string, runId: string, fromSeq?: number): Promise<JournalEvent[]>
  /** run ids of the service, oldest first */
  listRuns(service: string): Promise<string[]>
  /** the newest run's id, or null */
  currentRun(service: string): Promise<string | null>
  /** writes a whole run as exported (for `gray state import`): never overwrites, identical again is a no-op */
  importRun(service: string, runId: string, events: JournalEvent[]): Promise<ImportOutcome>

  acquireLease(service: string, holder: LeaseHolder, options: LeaseOptions): Promise<Lease>
  readLease(service: string): Promise<LeaseState | null>

  /** leaves a request for the service's driver; validated, fails with ConfigError on a bad one */
  postRequest(service: string, request: NewRequest): Promise<ControlRequest>
  /** requests still waiting, oldest first, malformed ones set aside; nothing is removed (see Inbox in core/ports.ts) */
  peekRequests(service: string): Promise<ControlRequest[]>
  /** removes requests a driver has journaled; one already removed is no error */
  ackRequests(service: string, requests: readonly ControlRequest[]): Promise<void>
  /** whether a posted request still waits, not yet journaled by a driver */
  requestWaiting(service: string, request: ControlRequest): Promise<boolean>

  /** says a `gray agent` serves `services`; it counts as live while its heartbeat is younger than ttlMs */
  announceAgent(holder: LeaseHolder, services: string[], ttlMs: number): Promise<AgentAnnouncement>
  /** the agents whose heartbeat is fresh and that serve `service` */
  liveAgents(service: string): Promise<AgentPresence[]>

  /** calls listener on new events and requests of the service, without polling where the backend can */
  subscribe(service: string, listener: (notice: Notice) => void): Promise<() => Promise<void>>

  close(): Promise<void>
}

/** `state:` of gray.yaml: no backend means local */
export type StateConfig = StateSettings

/** Where the state lives, for messages, without opening it: never a password. */
export function whereOf(state: StateConfig): string {
  return state.backend === 'postgres' ? describeUrl(state.url) : resolve(state.dir)
}

/**
 * The backend the config names, opened on first use (so a command that never
 * reaches its state never connects); `close()` closes it only if it was opened.
 */
export function lazyBackend(state: StateConfig, options: {migrate?: boolean} = {}): StateBackend {
  let opened: Promise<StateBackend> | null = null
  let closed = false
  const open = () => {
    if (closed) throw new Error('this state backend was closed')
    return (opened ??= openBackend(state, options))
  }
  const call =
    <K extends keyof StateBackend>(name: K) =>
    async (...args: unknown[]) =>
      ((await open())[name] as (...a: unknown[]) => unknown)(...args)
  return {
    kind: state.backend === 'postgres' ? 'postgres' : 'local',
    where: whereOf(state),
    createRun: call('createRun'),
    append: call('append'),
    readEvents: call('readEvents'),
    listRuns: call('listRuns'),
    currentRun: call('currentRun'),
    importRun: call('importRun'),
    acquireLease: call('acquireLease'),
    readLease: call('readLease'),
    postRequest: call('postRequest'),
    peekRequests: call('peekRequests'),
    ackRequests: call('ackRequests'),
    requestWaiting: call('requestWaiting'),
    subscribe: call('subscribe'),
    announceAgent: call('announceAgent'),
    liveAgents: call('liveAgents'),
    async close() {
      closed = true
      const was = opened
      opened = null
      if (was) await (await was.catch(() => null))?.close()
    },
  } as StateBackend
}

/** Opens the backend the config names; postgres is loaded only when asked for. */
export async function openBackend(state: StateConfig, options: {migrate?: boolean} = {}): Promise<StateBackend> {
  if (state.backend === 'postgres') {
    const {PostgresBackend} = await import('./postgres/backend.js')
    return PostgresBackend.open(state.url, {migrate: options.migrate ?? true})
  }
  const {LocalBackend} = await import('./local.js')
  return new LocalBackend(state.dir)
}
