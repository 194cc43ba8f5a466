// The run engine: reads the run's state from the journal, decides the next
// action (./next.ts), carries it out through the ports, journals intent and
// confirmation, and repeats until the run ends or must wait for a person.
import {setMaxListeners} from 'node:events'

import pLimit from 'p-limit'

import {HOOK_STAGES, type GrayConfig, type HookStage} from '../config/model.js'
import {faultPoint} from '../faults.js'
import {hookCommand, isBeforeHook, type HookContext, type HookRunner} from '../hooks.js'
import {DeployError, errorMessage, ExitCode, GatewayError, GrayError, type ExitCodeValue} from '../errors.js'
import {errorJudgement, judge, type Judgement} from '../gates/judge.js'
import type {
  Actor,
  Clock,
  ControlRequest,
  Deployer,
  Gateway,
  Inbox,
  JournalEvent,
  JournalWriter,
  Measurement,
  MetricSource,
  Policy,
  RequestKind,
} from '../ports.js'
import {actorName} from '../ports.js'
import type {DeployLogs} from './deploy-logs.js'
import type {DeployPurpose, EventData, EventType, PublishPurpose} from './events.js'
import {failureBudget, hookDone, nextAction, type Action} from './next.js'
import {assessBakeEnd, assessMeasurements, escalateVerdict} from './escalation.js'
import {exitCodeOf} from './exit-codes.js'
import {errorLines} from './output-lines.js'
import {FULL_WEIGHT_BP, toPercent} from './policy.js'
import {advance, grayUpstream, replay, stableUpstream, type HostState, type RunState} from './state.js'

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
}

const DEFAULTS: DriverOptions = {
  rollbackPublishDeadlineMs: 10 * 60_000,
  publishAttempts: 5,
  backoffBaseMs: 250,
  backoffMaxMs: 5_000,
}

export interface Outcome {
  state: RunState
  exitCode: ExitCodeValue
}

/** Settles with the promise, or rejects as soon as the signal aborts (a slow source must not delay a rollback). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'))
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

function configuredHooks(config: GrayConfig): HookStage[] {
  return HOOK_STAGES.filter((stage) => Boolean(hookCommand(config.hooks, stage)))
}

export class RunDriver {
  private readonly deps: DriverDeps
  private readonly opts: DriverOptions
  private readonly config: GrayConfig
  /** aborted when a rollback is requested: stops deploys, measurements and sleeps at once */
  private phase = new AbortController()
  /** aborted to wake a sleep when any request arrives */
  private wake = new AbortController()
  private requests: Promise<void> = Promise.resolve()
  private rollbackRequested = false

  constructor(deps: DriverDeps) {
    this.deps = deps
    this.config = deps.config
    this.opts = {...DEFAULTS, ...deps.options}
    // every deploy in flight listens for a rollback on this signal
    setMaxListeners(Math.max(10, 4 * deps.config.deploy.concurrency + 10), this.phase.signal)
  }

  private cached: RunState | null = null

  /** The run's state: the journal replayed (incrementally: only new events are applied). */
  state(): RunState {
    const events = this.deps.journal.events()
    if (!this.cached) this.cached = replay(events)
    else advance(this.cached, events)
    return this.cached
  }

  private async record<T extends EventType>(type: T, data: EventData[T]): Promise<JournalEvent> {
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

  /** A request from this process (a signal, or a command that drives in-process). */
  request(kind: RequestKind, options: {reason?: string; full?: boolean} = {}): Promise<void> {
    const req: ControlRequest = {id: `local-${Date.now()}`, kind, ...options, actor: this.deps.actor, at: new Date(this.deps.clock.now()).toISOString()}
    return this.enqueue([req], 'signal')
  }

  private enqueue(reqs: ControlRequest[], cause: 'request' | 'signal' = 'request'): Promise<void> {
    // Take note at once (the flag stops new side effects), then journal in order.
    if (reqs.some((r) => r.kind === 'rollback')) {
      this.rollbackRequested = true
      this.phase.abort()
    }
    this.requests = this.requests.then(() => this.handle(reqs, cause)).catch(() => undefined)
    return this.requests
  }

  private async pollInbox(): Promise<void> {
    if (!this.deps.inbox) return
    // a request left in the inbox for a run that has ended is not this run's to carry out
    const runId = this.state().runId
    const reqs = (await this.deps.inbox.take()).filter((r) => r.runId === undefined || r.runId === runId)
    if (reqs.length > 0) await this.enqueue(reqs)
  }

  private async handle(reqs: ControlRequest[], cause: 'request' | 'signal'): Promise<void> {
    for (const req of reqs) {
      const by = actorName(req.actor)
      await this.record('request.received', {id: req.id, kind: req.kind, reason: req.reason, full: req.full, by, requestedAt: req.at})
      const s = this.state()
      if (s.outcome || (s.rollback && req.kind !== 'rollback')) continue
      switch (req.kind) {
        case 'rollback':
          if (!s.rollback) await this.record('rollback.started', {reason: req.reason ?? `requested by ${by}`, by})
          break
        case 'pause':
          if (!s.paused) await this.record('run.paused', {reason: req.reason ?? `paused by ${by}`, cause})
          break
        case 'resume':
          if (s.paused) await this.record('run.resumed', {by})
          break
        case 'promote':
          await this.record('run.promoted', {full: req.full ?? false, by})
          break
      }
    }
    this.wake.abort()
  }

  /** Drives the run until it ends or must wait; the journal must already hold run.started. */
  async drive(): Promise<Outcome> {
    const configured = configuredHooks(this.config)
    if (configured.length > 0 && !this.deps.hooks) {
      throw new GrayError(`hooks ${configured.join(', ')} are configured but this driver was given no hook runner; this is a bug in gray, please report it`)
    }
    const unsubscribe = this.deps.inbox?.onArrival(() => void this.pollInbox())
    try {
      await this.record('driver.attached', {epoch: this.deps.epoch ?? 0, takeover: Boolean(this.deps.takeover), from: this.deps.takeover?.from})
      await this.pollInbox()
      for (;;) {
        await this.requests
        const state = this.state()
        if (state.rollback) this.rollbackRequested = true
        const action = nextAction(state, this.config)
        if (action.kind === 'done') return {state, exitCode: exitCodeOf(state)}
        if (action.kind === 'hold') {
          await this.record('driver.detached', {reason: action.reason})
          return {state: this.state(), exitCode: ExitCode.paused}
        }
        await this.perform(action)
      }
    } finally {
      unsubscribe?.()
      await this.requests
    }
  }

  private async perform(action: Exclude<Action, {kind: 'done' | 'hold'}>): Promise<void> {
    switch (action.kind) {
      case 'publish':
        return void (await this.publish(action.policy, action.purpose, action.step))
      case 'deploy':
        return this.deployHosts(action.hosts, action.version, action.purpose, action.step)
      case 'hook':
        return void (await this.runHook(action.stage, action.key, {step: action.step, weight: toPercent(action.weightBp), hosts: action.hosts?.map((h) => h.name)}))
      case 'start-step':
        return void (await this.record('step.started', {index: action.index, weight: toPercent(action.weightBp)}))
      case 'bake':
        return this.bake(action.weightBp)
      case 'pass-by-promote':
        return void (await this.record('step.passed', {index: action.index, by: 'promote'}))
      case 'wait':
        return void (await this.record('step.waiting', {index: action.index}))
      case 'begin-completion':
        return void (await this.record('run.completing', {hosts: action.hosts.map((h) => h.address)}))
      case 'finish':
        return void (await this.record('run.completed', {version: action.version, failedHosts: action.failedHosts}))
      case 'warn':
        return void (await this.record('rollback.warning', {message: action.message, about: action.about}))
      case 'rolled-back':
        return void (await this.record('run.rolled_back', {reason: action.reason, reverted: action.reverted, notReverted: action.notReverted}))
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.max(0, attempt - 1))
  }

  /**
   * Publishes and waits for the gateway's confirmation. A step publish never
   * starts once a rollback is requested, and gives up (holding the run) after
   * a few attempts; a rollback publish keeps trying until confirmed.
   */
  private async publish(policy: Policy, purpose: PublishPurpose, step: number): Promise<boolean> {
    const isRollback = purpose === 'rollback' || (purpose === 'plain' && this.rollbackRequested)
    if (!isRollback && this.rollbackRequested) return false
    await this.record('gateway.publish.started', {
      revision: policy.revision,
      weightBp: policy.weightBp,
      mode: policy.mode,
      purpose,
      step,
      rules: policy.rules.length,
      gray: policy.gray.map((h) => h.address),
      stable: policy.stable.map((h) => h.address),
    })
    const deadline = this.deps.clock.now() + this.opts.rollbackPublishDeadlineMs
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await this.deps.gateway.publish(policy)
        if (applied.revision !== policy.revision) throw new GatewayError(`the gateway serves revision ${applied.revision}, not ${policy.revision}`)
        await this.record('gateway.publish.confirmed', {revision: applied.revision, weightBp: applied.weightBp, mode: applied.mode, purpose, step})
        return true
      } catch (error) {
        const permanent = error instanceof GatewayError && error.permanent
        await this.record('gateway.publish.failed', {revision: policy.revision, error: errorMessage(error), attempt, permanent, purpose})
        if (isRollback) {
          if (this.deps.clock.now() >= deadline) {
            throw new GrayError(`rollback could not be published to the ${this.deps.gateway.type} gateway: ${errorMessage(error)}; traffic may still reach gray`, {
              hint: 'fix the gateway, then run `gray rollback` again',
            })
          }
        } else if (permanent || attempt >= this.opts.publishAttempts || this.rollbackRequested) {
          if (!this.rollbackRequested) {
            await this.record('run.paused', {reason: `gateway did not take the policy: ${errorMessage(error)}`, cause: 'gateway'})
          }
          return false
        }
        await this.deps.clock.sleep(this.backoff(attempt), isRollback ? undefined : this.phase.signal)
      }
    }
  }

  private async deployHosts(hosts: HostState[], version: string, purpose: DeployPurpose, step?: number): Promise<void> {
    const limit = pLimit(Math.max(1, this.config.deploy.concurrency))
    const signal = purpose === 'revert' ? undefined : this.phase.signal
    const failed: Array<{host: HostState; error: string; log?: string; outputTail?: string[]}> = []
    await Promise.all(
      hosts.map((host) =>
        limit(async () => {
          let last: {error: string; log?: string; outputTail?: string[]} | undefined
          for (let attempt = 1; attempt <= 1 + this.config.deploy.retries; attempt++) {
            if (attempt > 1) await this.deps.clock.sleep(this.backoff(attempt - 1), signal)
            if (signal?.aborted) return
            last = await this.deployOne(host, version, purpose, attempt, step, signal)
            if (!last) return
          }
          if (last) failed.push({host, ...last})
        }),
      ),
    )
    if (failed.length === 0 || purpose === 'revert' || this.rollbackRequested) return
    if (purpose === 'complete') {
      const s = this.state()
      const alreadyLeft = s.hosts.filter((h) => h.abandoned).length
      if (alreadyLeft + failed.length <= failureBudget(this.config, s.hosts.length)) {
        for (const {host, error} of failed) await this.record('host.abandoned', {host: host.address, name: host.name, version, error})
        return
      }
    }
    const first = failed[0] as {host: HostState; error: string; log?: string; outputTail?: string[]}
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more: ${failed.slice(1).map((f) => f.host.name).join(', ')})` : ''
    const said = errorLines(first.outputTail ?? [])
    const output = said.length > 0 ? `; it said: ${said.map((l) => `"${l}"`).join(' / ')}` : ''
    const log = first.log ? ` (full output in ${first.log})` : ''
    await this.record('run.paused', {
      reason: `deploy of ${version} failed on ${first.host.name}: ${first.error}${more}${output}${log}; fix the deploy, then \`gray resume\` retries it, or \`gray rollback\``,
      cause: 'deploy',
    })
  }

  /** One deploy attempt; resolves undefined when the host runs the version, else why it does not. */
  private async deployOne(
    host: HostState,
    version: string,
    purpose: DeployPurpose,
    attempt: number,
    step: number | undefined,
    signal?: AbortSignal,
  ): Promise<{error: string; log?: string; outputTail?: string[]} | undefined> {
    await this.record('host.deploy.started', {host: host.address, name: host.name, version, purpose, attempt, step})
    const count = this.state().hosts.find((h) => h.address === host.address)?.attempts ?? attempt
    const log = this.deps.deployLogs?.open({name: host.name, address: host.address}, count)
    log?.write(`# gray: deploy ${version} to ${host.name} (${host.address}), ${purpose}, attempt ${attempt}, ${new Date(this.deps.clock.now()).toISOString()}`)
    try {
      const result = await this.deps.deployer.deploy({
        host: {name: host.name, address: host.address},
        version,
        previousVersion: this.state().previousVersion ?? undefined,
        service: this.config.service,
        signal,
        onOutput: log ? (line) => log.write(line) : undefined,
      })
      log?.write(`# gray: ${host.name} runs ${version}`)
      await log?.close()
      await this.record('host.deploy.succeeded', {host: host.address, version, durationMs: result.durationMs, outputTail: result.outputTail, log: log?.where})
      return undefined
    } catch (error) {
      const message = errorMessage(error)
      log?.write(`# gray: ${message}`)
      await log?.close()
      const outputTail = error instanceof DeployError ? error.outputTail : []
      await this.record('host.deploy.failed', {
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

  /**
   * Runs a hook once per stage and key: hook.started before, hook.ran after, so
   * a driver that takes over never runs again a hook that has run. A failing
   * before-hook holds the run; the others leave a warning.
   */
  private async runHook(stage: HookStage, key: string, at: {step?: number; weight: number; hosts?: string[]}): Promise<void> {
    const argv = hookCommand(this.config.hooks, stage)
    const runner = this.deps.hooks
    if (!argv || !runner || hookDone(this.state(), stage, key)) return
    const s = this.state()
    const ctx: HookContext = {service: s.service, runId: s.runId, version: s.version, previousVersion: s.previousVersion, ...at}
    await this.record('hook.started', {stage, key, step: at.step, weight: at.weight})
    const signal = stage === 'onRollback' ? undefined : this.phase.signal
    const result = await runner.run(stage, argv, ctx, {timeoutMs: this.config.hooks?.timeoutMs ?? 300_000, signal})
    await this.record('hook.ran', {stage, key, ok: result.ok, exitCode: result.exitCode, error: result.error, outputTail: result.outputTail, durationMs: result.durationMs})
    if (!result.ok && isBeforeHook(stage) && !this.rollbackRequested) {
      const last = result.outputTail.at(-1)
      await this.record('run.paused', {
        reason: `hook ${stage} (${argv[0]}) ${result.error ?? 'failed'}${last ? `: ${last}` : ''}; fix it, then \`gray resume\` runs it again, or \`gray rollback\``,
        cause: 'hook',
      })
    }
  }

  /** Bakes the current step: measures every gate each interval until the step passes, fails or must hold. */
  private async bake(weightBp: number): Promise<void> {
    const {clock} = this.deps
    const gates = this.config.gates
    let s = this.state()
    const step = s.steps[s.stepIndex]
    if (!step || !s.bakeStartedAt) return
    const bakeStart = Date.parse(s.bakeStartedAt)
    const bakeEnd = bakeStart + step.bakeMs
    const interval = gates?.intervalMs ?? 1_000
    const lastMeasured = Math.max(bakeStart, ...Object.values(s.gates).map((g) => (g.last && g.last.step === s.stepIndex ? Date.parse(g.last.at) : 0)))
    let nextMeasure = lastMeasured + interval
    let measuredAfterBake = 0
    for (;;) {
      await this.requests
      s = this.state()
      if (s.rollback || s.paused || s.promote || s.outcome || this.rollbackRequested) return
      const now = clock.now()
      if (gates && gates.checks.length > 0 && now >= nextMeasure) {
        const verdict = await this.measure(s, bakeStart, weightBp)
        if (verdict !== 'continue') return
        if (now >= bakeEnd) measuredAfterBake += 1
        nextMeasure = Math.max(nextMeasure + interval, clock.now())
        // a source slower than the interval would otherwise measure forever and never reach the end of the bake
        if (now < bakeEnd) continue
        await this.requests
        s = this.state()
        if (s.rollback || s.paused || s.promote || s.outcome || this.rollbackRequested) return
      }
      if (now >= bakeEnd) {
        const end = assessBakeEnd(gates?.checks ?? [], s.gates, measuredAfterBake)
        if (end.action === 'pass') {
          await this.record('step.passed', {index: s.stepIndex, by: 'gates'})
          return
        }
        if (end.action === 'pause-inconclusive') {
          await this.record('run.paused', {reason: end.reason, cause: 'gates'})
          return
        }
      }
      // after the bake, wait for the next measurement (not a busy loop); before it, for whichever comes first
      const until = gates && gates.checks.length > 0 ? (now >= bakeEnd ? nextMeasure : Math.min(nextMeasure, bakeEnd)) : bakeEnd
      this.wake = new AbortController()
      await clock.sleep(Math.max(1, until - now), AbortSignal.any([this.wake.signal, this.phase.signal]))
    }
  }

  /** Measures every check once, journals each measurement, and acts on the gates' verdicts. */
  private async measure(s: RunState, bakeStart: number, weightBp: number): Promise<'continue' | 'stop'> {
    const gates = this.config.gates
    if (!gates) return 'continue'
    const at = this.deps.clock.now()
    const signal = this.phase.signal
    const grayHosts = grayUpstream(s)
    const stableHosts = stableUpstream(s)
    // At 100% the stable cohort takes no traffic: there is no baseline to compare with, only the limit.
    const stableServes = weightBp < FULL_WEIGHT_BP && stableHosts.length > 0
    const results = await Promise.all(
      gates.checks.map(async (declared) => {
        const check = stableServes || !declared.baseline ? declared : {...declared, baseline: undefined}
        // a sequential check reads contiguous, non-overlapping intervals: since its last measurement
        const since = check.judge === 'sequential' ? Math.max(bakeStart, Date.parse(s.gates[check.name]?.last?.at ?? '') || 0) : bakeStart
        const windowMs = Math.max(1, Math.min(check.windowMs, at - since))
        const source = Object.hasOwn(this.deps.sources, check.source) ? this.deps.sources[check.source] : undefined
        const base = {check, service: s.service, previousVersion: s.previousVersion ?? undefined, windowMs, at, signal}
        let judgement: Judgement
        let gray: Measurement | undefined
        let stable: Measurement | undefined
        try {
          if (!source) throw new GrayError(`no metric source named ${check.source}`)
          ;[gray, stable] = await untilAborted(
            Promise.all([
              source.measure({...base, cohort: 'gray', version: s.version, hosts: grayHosts}),
              check.baseline ? source.measure({...base, cohort: 'stable', version: s.previousVersion ?? '', hosts: stableHosts}) : undefined,
            ]),
            signal,
          )
          // the weight in force (the sequential judge's sample-ratio check) and the step (its evidence restarts there too)
          const weightBp = s.applied?.purpose === 'step' && s.applied.step === s.stepIndex && !s.publishPending ? s.applied.weightBp : undefined
          judgement = judge(check, gray, stable, s.gates[check.name]?.evidence, {weightBp, step: s.stepIndex, steps: s.steps.length})
          judgement = escalateVerdict(check, judgement)
        } catch (error) {
          judgement = errorJudgement(check, errorMessage(error))
        }
        return {check, judgement, gray, stable, windowMs}
      }),
    )
    if (this.rollbackRequested) return 'stop'
    for (const {check, judgement, gray, stable, windowMs} of results) {
      await this.record('gate.measured', {
        check: check.name,
        step: s.stepIndex,
        ...judgement,
        query: gray?.query,
        evaluatedAt: new Date(at).toISOString(),
        windowMs,
        raw: gray?.raw ?? {},
        stableRaw: stable?.raw,
      })
    }
    const action = assessMeasurements(results, this.state().gates)
    if (action.action === 'rollback') await this.record('rollback.started', {reason: action.reason, by: 'gates'})
    else if (action.action === 'pause') await this.record('run.paused', {reason: action.reason, cause: 'gates'})
    if (action.action !== 'continue') return 'stop'
    return 'continue'
  }
}
