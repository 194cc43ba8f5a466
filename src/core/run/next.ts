// What the run does next, decided from its replayed state alone. Because the
// decision needs nothing but the journal, a run taken over after a crash
// continues exactly where the journal says it stands.
import type {GrayConfig} from '../config/model.js'
import type {DeployPurpose} from './events.js'
import {convertTarget} from './policy.js'
import type {HostState, RunState} from './state.js'

export type Action =
  | {kind: 'done'}
  | {kind: 'hold'}
  | {kind: 'rollback'}
  | {kind: 'deploy'; hosts: HostState[]; purpose: DeployPurpose; step?: number}
  | {kind: 'drain'; hosts: HostState[]}
  | {kind: 'start-step'; index: number}
  | {kind: 'publish-step'}
  | {kind: 'bake'}
  | {kind: 'pass-by-promote'}
  | {kind: 'wait'}
  | {kind: 'begin-completion'; hosts: HostState[]}
  | {kind: 'complete-full-weight'}
  | {kind: 'complete-plain'}
  | {kind: 'finish'}

export function nextAction(s: RunState, _config: GrayConfig): Action {
  if (s.outcome) return {kind: 'done'}
  if (s.rollback) return {kind: 'rollback'}
  if (s.paused) return {kind: 'hold'}
  if (s.waiting && !s.promote) return {kind: 'hold'}

  const onVersion = (h: HostState) => h.version === s.version && !h.pending
  const grayPool = s.hosts.filter((h) => h.pool === 'gray')
  const grayTodo = grayPool.filter((h) => !onVersion(h))
  if (grayTodo.length > 0) return {kind: 'deploy', hosts: grayTodo, purpose: 'gray'}

  if (s.completing) {
    const applied = s.applied
    const fullInForce = applied && !s.publishPending && (applied.mode === 'plain' || applied.weightBp === 10_000)
    if (!fullInForce) return {kind: 'complete-full-weight'}
    const remaining = s.hosts.filter((h) => !onVersion(h))
    if (remaining.length > 0) return {kind: 'deploy', hosts: remaining, purpose: 'complete'}
    if (!(applied.mode === 'plain' && applied.purpose === 'complete')) return {kind: 'complete-plain'}
    return {kind: 'finish'}
  }

  if (s.stepIndex < 0) return {kind: 'start-step', index: 0}
  const step = s.steps[s.stepIndex]
  if (!step) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}

  // Hosts before traffic: the step's share of stable hosts runs the new version first.
  const stable = s.hosts.filter((h) => h.pool === 'stable')
  const target = convertTarget(s.steps, stable.length, s.stepIndex)
  const converted = stable.filter((h) => h.converted && onVersion(h))
  if (converted.length < target) {
    const failedConversions = stable.filter((h) => h.converted && !onVersion(h))
    const fresh = stable.filter((h) => !h.converted)
    const todo = [...failedConversions, ...fresh].slice(0, target - converted.length)
    // Take hosts out of the stable upstream before they are deployed; before
    // gray's first publish, assume every stable host serves.
    const served = new Set(s.applied ? s.applied.stable : stable.map((h) => h.address))
    const stillServing = todo.filter((h) => served.has(h.address))
    if (stillServing.length > 0) return {kind: 'drain', hosts: stillServing}
    return {kind: 'deploy', hosts: todo, purpose: 'step', step: s.stepIndex}
  }

  const published = s.applied && !s.publishPending && s.applied.purpose === 'step' && s.applied.step === s.stepIndex
  if (!published) return {kind: 'publish-step'}

  if (s.promote && !s.stepPassed) return {kind: 'pass-by-promote'}
  if (!s.stepPassed) return {kind: 'bake'}
  if (step.pause && !s.promote) return {kind: 'wait'}

  const last = s.stepIndex >= s.steps.length - 1
  if (last || s.promote?.full) return {kind: 'begin-completion', hosts: s.hosts.filter((h) => !onVersion(h))}
  return {kind: 'start-step', index: s.stepIndex + 1}
}
