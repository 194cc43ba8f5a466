// In-memory adapters and a fake clock for engine tests. The clock is a
// discrete-event simulator: when every task is asleep, time jumps to the
// next timer, so a 10-minute bake runs in milliseconds, deterministically.
import type {Check, GrayConfig, Host} from '../../src/core/config/model.js'
import {DeployError, GatewayError, MetricError} from '../../src/core/errors.js'
import {fromDocument, toDocument} from '../../src/core/policy/document.js'
import type {
  Actor,
  AppliedPolicy,
  Clock,
  ControlRequest,
  Deployer,
  DeployRequest,
  DeployResult,
  Gateway,
  GatewayCapabilities,
  Inbox,
  JournalEvent,
  JournalWriter,
  Measurement,
  MeasureRequest,
  MetricSource,
  Policy,
} from '../../src/core/ports.js'

interface Timer {
  at: number
  resolve: () => void
}

export class FakeClock implements Clock {
  private t: number
  private timers: Timer[] = []
  private scheduled: Array<{at: number; fn: () => void | Promise<void>}> = []

  constructor(start = Date.parse('2026-11-22T10:00:00Z')) {
    this.t = start
  }

  now(): number {
    return this.t
  }

  get elapsed(): number {
    return this.t - Date.parse('2026-11-22T10:00:00Z')
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const timer: Timer = {at: this.t + Math.max(0, ms), resolve}
      this.timers.push(timer)
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer)
          resolve()
        },
        {once: true},
      )
    })
  }

  /** Runs fn when virtual time reaches `at` ms after the start. */
  at(offsetMs: number, fn: () => void | Promise<void>): void {
    this.scheduled.push({at: Date.parse('2026-11-22T10:00:00Z') + offsetMs, fn})
  }

  /** Runs until the promise settles, jumping time forward whenever everything sleeps. */
  async run<T>(promise: Promise<T>, limitMs = 24 * 3600_000): Promise<T> {
    let settled = false
    let result: {ok: true; value: T} | {ok: false; error: unknown} | undefined
    promise.then(
      (value) => {
        settled = true
        result = {ok: true, value}
      },
      (error: unknown) => {
        settled = true
        result = {ok: false, error}
      },
    )
    const deadline = this.t + limitMs
    for (;;) {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
      if (settled) break
      const nextTimer = Math.min(...this.timers.map((x) => x.at), Infinity)
      const nextScheduled = Math.min(...this.scheduled.map((x) => x.at), Infinity)
      const next = Math.min(nextTimer, nextScheduled)
      if (next === Infinity) throw new Error('deadlock: nothing scheduled and the promise has not settled')
      if (next > deadline) throw new Error('virtual time limit reached')
      this.t = Math.max(this.t, next)
      if (nextScheduled <= nextTimer) {
        const due = this.scheduled.filter((x) => x.at <= this.t)
        this.scheduled = this.scheduled.filter((x) => x.at > this.t)
        for (const d of due) await d.fn()
      } else {
        const due = this.timers.filter((x) => x.at <= this.t)
        this.timers = this.timers.filter((x) => x.at > this.t)
        for (const d of due) d.resolve()
      }
    }
    if (!result) throw new Error('unreachable')
    if (!result.ok) throw result.error
    return result.value
  }
}

export const testActor: Actor = {user: 'tester', host: 'test-host', pid: 4242, ci: false}

export class MemoryJournal implements JournalWriter {
  readonly list: JournalEvent[] = []
  constructor(
    private readonly clock: Clock,
    private readonly actor: Actor = testActor,
  ) {}

  async append(type: string, data: Record<string, unknown>): Promise<JournalEvent> {
    const event: JournalEvent = {seq: this.list.length + 1, at: new Date(this.clock.now()).toISOString(), actor: this.actor, type, data: structuredClone(data)}
    this.list.push(event)
    return event
  }

  events(): readonly JournalEvent[] {
    return this.list
  }

  types(): string[] {
    return this.list.map((e) => e.type)
  }

  ofType(type: string): JournalEvent[] {
    return this.list.filter((e) => e.type === type)
  }
}

const allCapabilities: GatewayCapabilities = {rules: ['equals', 'in', 'prefix', 'range', 'cidr'], sticky: ['cookie', 'header', 'query', 'ip'], stickySplit: true, tag: true}

export class MemoryGateway implements Gateway {
  readonly type = 'memory'
  served: Policy | null = null
  readonly published: Policy[] = []
  /** publishes that fail before the next one succeeds */
  failNext = 0
  failPermanently = false
  /** virtual ms each publish takes */
  latencyMs = 0

  constructor(private readonly clock?: Clock) {}

  capabilities(): GatewayCapabilities {
    return allCapabilities
  }

  render(policy: Policy): string {
    return JSON.stringify(policy)
  }

  async publish(policy: Policy): Promise<AppliedPolicy> {
    if (this.latencyMs && this.clock) await this.clock.sleep(this.latencyMs)
    if (this.failPermanently) throw new GatewayError('gateway rejected the policy', {permanent: true})
    if (this.failNext > 0) {
      this.failNext -= 1
      throw new GatewayError('gateway answered 503')
    }
    // what every real gateway checks: a policy it could not serve is refused
    try {
      fromDocument(toDocument(policy))
    } catch (error) {
      throw new GatewayError(String(error), {permanent: true})
    }
    this.served = structuredClone(policy)
    this.published.push(this.served)
    return {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
  }

  async readBack(): Promise<AppliedPolicy | null> {
    return this.served && {revision: this.served.revision, weightBp: this.served.weightBp, mode: this.served.mode}
  }

  weights(): number[] {
    return this.published.map((p) => (p.mode === 'plain' ? -1 : p.weightBp))
  }
}

export class FakeDeployer implements Deployer {
  /** address → version the host runs */
  readonly versions = new Map<string, string>()
  readonly calls: Array<{host: string; version: string}> = []
  durationMs = 1000
  /** address → number of upcoming deploys to fail */
  readonly failures = new Map<string, number>()
  onDeploy?: (req: DeployRequest) => void | Promise<void>

  constructor(
    private readonly clock: Clock,
    hosts: Host[] = [],
    initial = 'v1',
  ) {
    for (const h of hosts) this.versions.set(h.address, initial)
  }

  async deploy(req: DeployRequest): Promise<DeployResult> {
    this.calls.push({host: req.host.address, version: req.version})
    await this.onDeploy?.(req)
    await this.clock.sleep(this.durationMs, req.signal)
    if (req.signal?.aborted) throw new DeployError(`deploy to ${req.host.name} was cancelled`, req.host.name)
    const left = this.failures.get(req.host.address) ?? 0
    if (left > 0) {
      this.failures.set(req.host.address, left - 1)
      throw new DeployError(`deploy to ${req.host.name} failed: exit code 1`, req.host.name, ['boom'])
    }
    this.versions.set(req.host.address, req.version)
    return {outputTail: [`deployed ${req.version}`], durationMs: this.durationMs}
  }

  deploysOf(address: string, version?: string): number {
    return this.calls.filter((c) => c.host === address && (!version || c.version === version)).length
  }
}

export type Script = (req: MeasureRequest) => Measurement | Promise<Measurement> | Error

/** A metric source whose answers a test scripts per call. */
export class ScriptedSource implements MetricSource {
  readonly type = 'scripted'
  readonly calls: MeasureRequest[] = []
  constructor(public script: Script) {}

  async measure(req: MeasureRequest): Promise<Measurement> {
    this.calls.push(req)
    const out = await this.script(req)
    if (out instanceof Error) throw out
    return out
  }
}

export const healthy = (value = 0.001, samples = 1000): Measurement => ({value, samples, raw: {value, samples}, query: 'q'})
export const transientError = () => new MetricError('source unavailable')

export class MemoryInbox implements Inbox {
  private pending: ControlRequest[] = []
  private listeners = new Set<() => void>()
  private posted = 0
  /** every request acked, in order */
  readonly acked: ControlRequest[] = []

  /** posts a request (ids r1, r2, … never reused, as a real inbox's are unique) */
  post(kind: ControlRequest['kind'], extra: Partial<ControlRequest> = {}): void {
    this.pending.push({id: `r${++this.posted}`, kind, actor: {...testActor, user: 'oncall', pid: 99}, at: new Date().toISOString(), ...extra})
    for (const l of this.listeners) l()
  }

  /** the requests still waiting (not acked) */
  waiting(): ControlRequest[] {
    return [...this.pending]
  }

  async peek(): Promise<ControlRequest[]> {
    return [...this.pending]
  }

  async ack(requests: readonly ControlRequest[]): Promise<void> {
    const ids = new Set(requests.map((r) => r.id))
    this.acked.push(...this.pending.filter((r) => ids.has(r.id)))
    this.pending = this.pending.filter((r) => !ids.has(r.id))
  }

  onArrival(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

export function check(overrides: Partial<Check> = {}): Check {
  return {
    name: 'errors',
    source: 'm',
    errors: 'errors',
    total: 'total',
    max: 0.01,
    minSamples: 100,
    failures: 2,
    critical: false,
    noData: 'hold',
    errorLimit: 4,
    failClosed: false,
    windowMs: 300_000,
    minPasses: 3,
    ...overrides,
  }
}

export function testConfig(overrides: Partial<GrayConfig> = {}): GrayConfig {
  return {
    file: '/tmp/gray.yaml',
    service: 'checkout',
    state: {dir: '/tmp/.gray'},
    hosts: {
      gray: [{name: 'g1', address: '10.0.0.11:8080'}],
      stable: [
        {name: 's1', address: '10.0.0.21:8080'},
        {name: 's2', address: '10.0.0.22:8080'},
        {name: 's3', address: '10.0.0.23:8080'},
      ],
    },
    deploy: {type: 'command', command: ['deploy', '{host.name}', '{version}'], concurrency: 10, timeoutMs: 300_000, retries: 1},
    gateway: {type: 'sandbox', listen: '127.0.0.1:8080', admin: '127.0.0.1:8081'},
    traffic: {sticky: {kind: 'cookie', name: 'uid'}, rules: [{kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'}]},
    steps: [
      {weight: 1, bakeMs: 300_000, pause: false},
      {weight: 10, bakeMs: 600_000, pause: false},
      {weight: 50, bakeMs: 600_000, pause: false},
      {weight: 100, bakeMs: 600_000, pause: false},
    ],
    metrics: {m: {type: 'command', command: ['x'], timeoutMs: 1000}},
    gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check()]},
    notify: [],
    ...overrides,
  }
}
