// What the run does next, decided from its replayed state alone. Because the
// decision needs nothing but the journal, a run taken over after a crash
// continues exactly where the journal says it stands.
import type {GrayConfig, HostShare, HookStage} from '../config/model.js'
import {hookCommand} from '../hooks.js'
import type {DeployPurpose} from './events.js'
import {convertTarget} from './policy.js'
import {nextRollbackStep, type RollbackStep} from './rollback.js'
import {hookDone, type HostState, type RunState} from './state.js'

export {hookDone} from './state.js'

export type Action =
  | {kind: 'done'}
  | {kind: 'hold'}
  | Exclude<RollbackStep, {kind: 'deploy' | 'hook'}>
  | {kind: 'deploy'; hosts: HostState[]; version: string; purpose: DeployPurpose; step?: number}
  | {kind: 'drain'; hosts: HostState[]}
  | {kind: 'hook'; stage: HookStage; key: string; step?: number; weight: number; hosts?: HostState[]}
  | {kind: 'start-step'; index: number}
  | {kind: 'publish-step'}
  | {kind: 'bake'}
  | {kind: 'pass-by-promote'}
  | {kind: 'wait'}
  | {kind: 'begin-completion'; hosts: HostState[]}
  | {kind: 'complete-full-weight'}
  | {kind: 'complete-plain'}
  | {kind: 'finish'}

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

export function nextAction(s: RunState, config: GrayConfig): Action {
  if (s.outcome) return {kind: 'done'}
  if (s.rollback) {
    const step = nextRollbackStep(s, config)
    return step.kind === 'hook' ? {kind: 'hook', stage: step.stage, key: step.key, weight: step.weightBp / 100} : step
  }
  if (s.paused) return {kind: 'hold'}
  if (s.waiting && !s.promote) return {kind: 'hold'}

  const appliedWeight = (s.applied?.weightBp ?? 0) / 100
  /** the hook due at this moment, when one is configured and has not had its turn */
  const hook = (stage: HookStage, key: string, extra: {step?: number; weight?: number; hosts?: HostState[]} = {}): Action | null =>
    hookCommand(config.hooks, stage) && !hookDone(s, stage, key) ? {kind: 'hook', stage, key, weight: appliedWeight, ...extra} : null
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
    if (mayServe && !s.rollback) return {kind: 'drain', hosts: grayTodo}
    return hook('beforeDeploy', 'gray', {hosts: grayTodo}) ?? {kind: 'deploy', hosts: grayTodo, version: s.version, purpose: 'gray'}
  }
  const afterGray = afterDeploy('gray')
  if (afterGray) return afterGray

  if (s.completing) return completion(s, batch, hook, afterDeploy)

  if (s.stepIndex < 0) return {kind: 'start-step', index: 0}
  const step = s.steps[s.stepIndex]
  if (!step) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}
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
    if (stillServing.length > 0) return {kind: 'drain', hosts: stillServing}
    return {kind: 'deploy', hosts: todo, version: s.version, purpose: 'step', step: s.stepIndex}
  }
  const afterStepDeploy = afterDeploy(phase, s.stepIndex)
  if (afterStepDeploy) return afterStepDeploy

  const published = s.applied && !s.publishPending && s.applied.purpose === 'step' && s.applied.step === s.stepIndex
  if (!published) return hook('beforeTraffic', phase, {step: s.stepIndex, weight: step.weight}) ?? {kind: 'publish-step'}
  const afterTraffic = hook('afterTraffic', phase, {step: s.stepIndex, weight: step.weight})
  if (afterTraffic) return afterTraffic

  if (s.promote && !s.stepPassed) return {kind: 'pass-by-promote'}
  // a pause step with no bake waits as soon as its weight is confirmed; with one, after it
  if (step.pause && step.bakeMs === 0 && !s.promote) return {kind: 'wait'}
  if (!s.stepPassed) return {kind: 'bake'}
  if (step.pause && !s.promote) return {kind: 'wait'}

  const last = s.stepIndex >= s.steps.length - 1
  if (last || s.promote?.full) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}
  return {kind: 'start-step', index: s.stepIndex + 1}
}

type HookAt = (stage: HookStage, key: string, extra?: {step?: number; weight?: number; hosts?: HostState[]}) => Action | null

/**
 * Completion: all traffic to the new version, then the remaining hosts in
 * batches (they take no traffic at 100%, so none needs draining), then the
 * plain form with every healthy host.
 */
function completion(s: RunState, batch: number, hook: HookAt, afterDeploy: (phase: string) => Action | null): Action {
  const applied = s.applied
  // Once every host runs the new version only the plain policy is left — also after a
  // crash between its publish and the confirmation, which must not send 100% again.
  const remaining = s.hosts.filter((h) => !(h.version === s.version && !h.pending) && !h.abandoned)
  if (remaining.length > 0) {
    const fullInForce = applied && !s.publishPending && applied.mode === 'split' && applied.weightBp === 10_000
    if (!fullInForce) return hook('beforeTraffic', 'complete', {weight: 100}) ?? {kind: 'complete-full-weight'}
    if (applied.purpose === 'complete') {
      const after = hook('afterTraffic', 'complete', {weight: 100})
      if (after) return after
    }
    const todo = remaining.slice(0, batch)
    return hook('beforeDeploy', 'complete', {weight: 100, hosts: remaining}) ?? {kind: 'deploy', hosts: todo, version: s.version, purpose: 'complete'}
  }
  const afterCompletion = afterDeploy('complete')
  if (afterCompletion) return afterCompletion

  const plainInForce = applied?.mode === 'plain' && applied.purpose === 'complete' && !s.publishPending
  if (!plainInForce) return hook('beforeTraffic', 'plain', {weight: 100}) ?? {kind: 'complete-plain'}
  return hook('afterTraffic', 'plain', {weight: 100}) ?? hook('onComplete', 'complete', {weight: 100}) ?? {kind: 'finish'}
}
