// What every part of the driver shares while it carries a run out: the ports, the options, the
// journal (read as replayed state, written one event at a time) and the signals that stop work
// when a rollback is requested or wake a sleep when any request arrives.
import {setMaxListeners} from 'node:events'

import type {GrayConfig} from '../config/model.js'
import {faultPoint} from '../faults.js'
import type {HookRunner} from '../hooks.js'
import type {Actor, Clock, Deployer, Gateway, Inbox, JournalEvent, JournalWriter, MetricSource} from '../ports.js'
import type {DeployLogs} from './deploy-logs.js'
import type {EventData, EventType} from './events.js'
import {advance, replay, type RunState} from './state.js'

export interface DriverDeps {
  config: GrayConfig
  journal: JournalWriter
  gateway: Gateway
  deployer: Deployer
  sources: Record<string, MetricSource>
  clock: Clock
  inbox?: Inbox
  actor: Actor
  /** lock epoch, journaled so takeovers are visible */
  epoch?: number
  takeover?: {from: string}
  /** called after every journaled event, for progress display */
  observe?: (event: JournalEvent, state: RunState) => void
  /** keeps each deploy attempt's full output; without it only the journal's tail remains */
  deployLogs?: DeployLogs
  /** runs config.hooks; required when hooks are configured */
  hooks?: HookRunner
  options?: Partial<DriverOptions>
}

export interface DriverOptions {
  /** how long a rollback publish keeps retrying before the driver gives up (exit 1) */
  rollbackPublishDeadlineMs: number
  /** attempts of a step publish before the run holds */
  publishAttempts: number
  backoffBaseMs: number
  backoffMaxMs: number
  /**
   * at a hold (a pause, a step waiting for promote) stay and guard it: measure the gates every interval and roll
   * back on a failing gate (./guard.ts). Off, the driver journals driver.detached and returns (exit 4).
   */
  guardWaits: boolean
}

const DEFAULTS: DriverOptions = {
  rollbackPublishDeadlineMs: 10 * 60_000,
  publishAttempts: 5,
  backoffBaseMs: 250,
  backoffMaxMs: 5_000,
  guardWaits: false,
}

/** An event to journal, as the pure parts of the engine return it. */
export type EventIntent = {[T in EventType]: {type: T; data: EventData[T]}}[EventType]

export class RunContext {
  readonly deps: DriverDeps
  readonly opts: DriverOptions
  readonly config: GrayConfig
  /** aborted when a rollback is requested: stops deploys, measurements and sleeps at once */
  readonly phase = new AbortController()
  /** aborted to wake a sleep when any request arrives; renewed before each sleep */
  wake = new AbortController()
  /** the requests taken so far, journaled in order; awaited before each decision */
  requests: Promise<void> = Promise.resolve()
  /** why a request could not be journaled (the lease lost, the state unwritable): the driver stops with it at its next decision */
  requestFailure: unknown = undefined
  /** set the moment a rollback is requested (before it is journaled): no new side effect starts but the rollback's */
  rollbackRequested = false
  /** set when this process's own signal (Ctrl-C's "pause and leave", SIGTERM) says leave at the next hold, guarding or not */
  leaving = false
  private cached: RunState | null = null

  constructor(deps: DriverDeps) {
    this.deps = deps
    this.config = deps.config
    this.opts = {...DEFAULTS, ...deps.options}
    // every deploy in flight listens for a rollback on this signal
    setMaxListeners(Math.max(10, 4 * deps.config.deploy.concurrency + 10), this.phase.signal)
  }

  /** The run's state: the journal replayed (incrementally: only new events are applied). */
  state(): RunState {
    const events = this.deps.journal.events()
    if (!this.cached) this.cached = replay(events)
    else advance(this.cached, events)
    return this.cached
  }

  async record<T extends EventType>(type: T, data: EventData[T]): Promise<JournalEvent> {
    faultPoint('before', type)
    const event = await this.deps.journal.append(type, data as unknown as Record<string, unknown>)
    faultPoint('after', type)
    try {
      // an observer (display, notifier) must never stop the run; services/observers.ts reports its failures
      this.deps.observe?.(event, this.state())
    } catch {
      // ignored here
    }
    return event
  }

  recordIntent(intent: EventIntent): Promise<JournalEvent> {
    return this.record(intent.type, intent.data as never)
  }

  /** The wait before retry `attempt + 1`: doubling from backoffBaseMs up to backoffMaxMs. */
  backoff(attempt: number): number {
    return Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.max(0, attempt - 1))
  }

  /** The run must stop what it is doing: a rollback, a pause, a promote or the end came in. */
  interrupted(s: RunState): boolean {
    return Boolean(s.rollback || s.paused || s.promote || s.outcome || this.rollbackRequested)
  }
}
