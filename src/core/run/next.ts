// What the run does next, decided from its replayed state alone. Because the
// decision needs nothing but the journal, a run taken over after a crash
// continues exactly where the journal says it stands.
import type {GrayConfig, HostShare, HookStage} from '../config/model.js'
import {hookCommand} from '../hooks.js'
import type {Policy} from '../ports.js'
import type {DeployPurpose, PublishPurpose} from './events.js'
import {convertTarget, FULL_WEIGHT_BP, plainPolicy, splitPolicy, stepWeightBp} from './policy.js'
import {nextRollbackStep, type RollbackStep} from './rollback.js'
import {grayUpstream, hookDone, type HostState, type RunState} from './state.js'
import {WAITING_FOR_PROMOTE} from './summary.js'

export {hookDone} from './state.js'

/**
 * What the driver does next, with everything it needs to do it: a publish carries its policy, a
 * deploy its hosts and version, a hook its moment. Weights are basis points (0..10000) throughout;
 * percent is for gray.yaml, the journal's step and hook lines, hook environments and display.
 */
export type Action =
  | {kind: 'done'}
  | {kind: 'hold'; reason: string}
  | GuardAction
  | {kind: 'publish'; purpose: PublishPurpose; step: number; policy: Policy}
  | {kind: 'deploy'; hosts: HostState[]; version: string; purpose: DeployPurpose; step?: number}
  | {kind: 'hook'; stage: HookStage; key: string; step?: number; weightBp: number; hosts?: HostState[]}
  | {kind: 'start-step'; index: number; weightBp: number}
  | {kind: 'bake'; index: number; weightBp: number}
  | {kind: 'pass-by-promote'; index: number}
  | {kind: 'wait'; index: number}
  | {kind: 'begin-completion'; hosts: HostState[]}
  | {kind: 'finish'; version: string; failedHosts: string[]}
  | Exclude<RollbackStep, {kind: 'publish' | 'deploy' | 'hook'}>

/** Hosts out of service at once when none is configured: a quarter of the fleet. */
export const DEFAULT_MAX_UNAVAILABLE: HostShare = {percent: 25}

/** How many hosts may be drained and deployed at once: deploy.maxUnavailable (at least 1), and no more than deploy.concurrency. */
export function batchSize(config: GrayConfig, hostCount: number): number {
  const share = config.deploy.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE
  const cap = 'count' in share ? share.count : Math.floor((hostCount * share.percent) / 100)
  return Math.max(1, Math.min(cap, config.deploy.concurrency))
}

/** Hosts whose completion deploy may fail while the run still completes. */
export function failureBudget(config: GrayConfig, hostCount: number): number {
  return Math.floor((hostCount * (config.deploy.maxFailPercent ?? 0)) / 100)
}

/**
 * At a hold (a pause, a step waiting for promote) a guarding driver stays and measures the gates at the weight
 * in force (`weightBp`, confirmed at `since`) every gate interval, rolling back on a failing gate as a bake does;
 * it never advances. `unmeasured` says why there is nothing to measure: then it only waits for a request.
 */
export interface GuardAction {
  kind: 'guard'
  reason: string
  weightBp: number
  /** when the weight in force was confirmed at this step: no measurement window reaches back past it */
  since: string | null
  unmeasured?: string
}

export interface NextOptions {
  /** guard holds instead of leaving them (DriverOptions.guardWaits, unless the driver was told to leave) */
  guard?: boolean
}

/**
 * The share of traffic gray may take at a hold: the weight confirmed in force, or the one being published when
 * its confirmation is pending (the gateway may serve it already). A plain policy sends nothing to gray before
 * the completion and everything after it.
 */
export function weightInForce(s: RunState): number {
  const weightOf = (p: {mode: 'split' | 'plain'; weightBp: number} | null) => (!p ? 0 : p.mode === 'split' ? p.weightBp : s.completing ? FULL_WEIGHT_BP : 0)
  return Math.max(weightOf(s.applied), s.publishPending ? weightOf(s.intended) : 0)
}

/** What a hold becomes: the driver leaves (`hold`), or stays and guards it (`guard`). */
export function holdAction(s: RunState, config: GrayConfig, reason: string, options: NextOptions): Action {
  if (!options.guard) return {kind: 'hold', reason}
  const weightBp = weightInForce(s)
  const since = s.bakeStartedAt ?? s.applied?.at ?? null
  const unmeasured = !config.gates || config.gates.checks.length === 0
    ? 'no gates are configured'
    : weightBp === 0 || grayUpstream(s).length === 0
      ? 'no traffic reaches gray (0%)'
      : undefined
  return {kind: 'guard', reason, weightBp, since, ...(unmeasured ? {unmeasured} : {})}
}

export function nextAction(s: RunState, config: GrayConfig, options: NextOptions = {}): Action {
  if (s.outcome) return {kind: 'done'}
  if (s.rollback) return nextRollbackStep(s, config)
  if (s.paused) return holdAction(s, config, s.paused.reason, options)
  if (s.waiting && !s.promote) return holdAction(s, config, WAITING_FOR_PROMOTE, options)

  /** the hook due at this moment, when one is configured and has not had its turn; its weight is the one in force unless given */
  const hook = (stage: HookStage, key: string, extra: {step?: number; weightBp?: number; hosts?: HostState[]} = {}): Action | null =>
    hookCommand(config.hooks, stage) && !hookDone(s, stage, key) ? {kind: 'hook', stage, key, weightBp: s.applied?.weightBp ?? 0, ...extra} : null
  const publish = (purpose: PublishPurpose, policy: Policy): Action => ({kind: 'publish', purpose, step: s.stepIndex, policy})
  const afterDeploy = (phase: string, step?: number) => (s.deployedPhases.includes(phase) ? hook('afterDeploy', phase, {step}) : null)

  const onVersion = (h: HostState) => h.version === s.version && !h.pending
  const batch = batchSize(config, s.hosts.length)
  const grayPool = s.hosts.filter((h) => h.pool === 'gray')
  const grayTodo = grayPool.filter((h) => !onVersion(h))
  if (grayTodo.length > 0) {
    // Before the run's first publish the gateway may still send traffic to the gray pool (a
    // plain policy from the last run lists every host): take it out of service first.
    const applied = s.applied
    const mayServe = !applied || applied.mode === 'plain' || grayTodo.some((h) => applied.stable.includes(h.address))
    if (mayServe && !s.rollback) return drain(config, s, grayTodo)
    return hook('beforeDeploy', 'gray', {hosts: grayTodo}) ?? {kind: 'deploy', hosts: grayTodo, version: s.version, purpose: 'gray'}
  }
  const afterGray = afterDeploy('gray')
  if (afterGray) return afterGray

  if (s.completing) return completion(s, config, batch, hook, afterDeploy)

  if (s.stepIndex < 0) return startStep(s, 0)
  const step = s.steps[s.stepIndex]
  if (!step) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}
  const weightBp = stepWeightBp(step)
  const phase = `step-${s.stepIndex}`

  // Hosts before traffic: the step's share of stable hosts runs the new version first,
  // a batch at a time, each drained from the stable upstream before it is deployed.
  const stable = s.hosts.filter((h) => h.pool === 'stable')
  const target = convertTarget(s.steps, stable.length, s.stepIndex)
  const converted = stable.filter((h) => h.converted && onVersion(h))
  if (converted.length < target) {
    const failedConversions = stable.filter((h) => h.converted && !onVersion(h))
    const fresh = stable.filter((h) => !h.converted)
    const todo = [...failedConversions, ...fresh].slice(0, Math.min(batch, target - converted.length))
    const before = hook('beforeDeploy', phase, {step: s.stepIndex, hosts: todo})
    if (before) return before
    // before gray's first publish, assume every stable host serves
    const served = new Set(s.applied ? s.applied.stable : stable.map((h) => h.address))
    const stillServing = todo.filter((h) => served.has(h.address))
    if (stillServing.length > 0) return drain(config, s, stillServing)
    return {kind: 'deploy', hosts: todo, version: s.version, purpose: 'step', step: s.stepIndex}
  }
  const afterStepDeploy = afterDeploy(phase, s.stepIndex)
  if (afterStepDeploy) return afterStepDeploy

  const published = s.applied && !s.publishPending && s.applied.purpose === 'step' && s.applied.step === s.stepIndex
  if (!published) return hook('beforeTraffic', phase, {step: s.stepIndex, weightBp}) ?? publish('step', splitPolicy(config, s, {weightBp, rules: true}))
  const afterTraffic = hook('afterTraffic', phase, {step: s.stepIndex, weightBp})
  if (afterTraffic) return afterTraffic

  if (s.promote && !s.stepPassed) return {kind: 'pass-by-promote', index: s.stepIndex}
  // a pause step with no bake waits as soon as its weight is confirmed; with one, after it
  if (step.pause && step.bakeMs === 0 && !s.promote) return {kind: 'wait', index: s.stepIndex}
  if (!s.stepPassed) return {kind: 'bake', index: s.stepIndex, weightBp}
  if (step.pause && !s.promote) return {kind: 'wait', index: s.stepIndex}

  const last = s.stepIndex >= s.steps.length - 1
  if (last || s.promote?.full) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}
  return startStep(s, s.stepIndex + 1)
}

function startStep(s: RunState, index: number): Action {
  const step = s.steps[index]
  return {kind: 'start-step', index, weightBp: step ? stepWeightBp(step) : 0}
}

/**
 * Takes `hosts` out of service before they are deployed: the weight in force, without them. With no
 * gray host in service yet (the run's first publish), nothing may go to gray: weight 0, no rules.
 */
function drain(config: GrayConfig, s: RunState, hosts: HostState[]): Action {
  const policy = splitPolicy(config, s, {weightBp: s.applied?.weightBp ?? 0, rules: true, exclude: hosts.map((h) => h.address)})
  const safe = policy.gray.length > 0 ? policy : {...policy, weightBp: 0, rules: []}
  return {kind: 'publish', purpose: 'drain', step: s.stepIndex, policy: safe}
}

type HookAt = (stage: HookStage, key: string, extra?: {step?: number; weightBp?: number; hosts?: HostState[]}) => Action | null

/**
 * Completion: all traffic to the new version, then the remaining hosts in
 * batches (they take no traffic at 100%, so none needs draining), then the
 * plain form with every healthy host.
 */
function completion(s: RunState, config: GrayConfig, batch: number, hook: HookAt, afterDeploy: (phase: string) => Action | null): Action {
  const applied = s.applied
  const publish = (policy: Policy): Action => ({kind: 'publish', purpose: 'complete', step: s.stepIndex, policy})
  const full = {weightBp: FULL_WEIGHT_BP}
  // Once every host runs the new version only the plain policy is left — also after a
  // crash between its publish and the confirmation, which must not send 100% again.
  const remaining = s.hosts.filter((h) => !(h.version === s.version && !h.pending) && !h.abandoned)
  if (remaining.length > 0) {
    const fullInForce = applied && !s.publishPending && applied.mode === 'split' && applied.weightBp === FULL_WEIGHT_BP
    if (!fullInForce) return hook('beforeTraffic', 'complete', full) ?? publish(splitPolicy(config, s, {weightBp: FULL_WEIGHT_BP, rules: false}))
    if (applied.purpose === 'complete') {
      const after = hook('afterTraffic', 'complete', full)
      if (after) return after
    }
    const todo = remaining.slice(0, batch)
    return hook('beforeDeploy', 'complete', {...full, hosts: remaining}) ?? {kind: 'deploy', hosts: todo, version: s.version, purpose: 'complete'}
  }
  const afterCompletion = afterDeploy('complete')
  if (afterCompletion) return afterCompletion

  const plainInForce = applied?.mode === 'plain' && applied.purpose === 'complete' && !s.publishPending
  // hosts left behind (deploy.maxFailPercent) or unhealthy take no traffic
  const serving = s.hosts.filter((h) => h.version === s.version && !h.pending && !h.abandoned)
  if (!plainInForce) return hook('beforeTraffic', 'plain', full) ?? publish(plainPolicy(config, s, serving))
  return (
    hook('afterTraffic', 'plain', full) ??
    hook('onComplete', 'complete', full) ?? {kind: 'finish', version: s.version, failedHosts: s.hosts.filter((h) => h.abandoned).map((h) => h.address)}
  )
}
