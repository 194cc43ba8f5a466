// The policy the sandbox serves: one object, swapped whole, so a request sees
// either the old policy or the new one and never a mix.
import type {PolicyDocument} from '../../../core/policy/document.js'
import {toDocument} from '../../../core/policy/document.js'
import type {Host} from '../../../core/config/model.js'
import type {Cohort, Policy} from '../../../core/ports.js'

export interface AppliedState {
  readonly policy: Policy
  readonly document: PolicyDocument
  /** round-robin position per upstream */
  readonly next: Record<Cohort, number>
}

export class PolicyStore {
  private applied: AppliedState | null = null

  constructor(initial: Policy | null = null) {
    if (initial) this.swap(initial)
  }

  get current(): AppliedState | null {
    return this.applied
  }

  /** The service this sandbox serves: fixed by the first policy it applies. */
  get service(): string | null {
    return this.applied?.policy.service ?? null
  }

  swap(policy: Policy): AppliedState {
    this.applied = {policy, document: toDocument(policy), next: {stable: 0, gray: 0}}
    return this.applied
  }
}

export function pickHost(state: AppliedState, cohort: Cohort): Host | undefined {
  const hosts = cohort === 'gray' ? state.policy.gray : state.policy.stable
  if (hosts.length === 0) return undefined
  const host = hosts[state.next[cohort] % hosts.length]
  state.next[cohort] = (state.next[cohort] + 1) % hosts.length
  return host
}
