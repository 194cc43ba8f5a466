// What a run would do, step by step, computed from the config alone: used by
// `gray plan` and by the checks that refuse a run that would strand traffic.
import type {InventoryRead} from './config/inventory.js'
import type {GrayConfig, Host} from './config/model.js'
import type {Gateway, Policy} from './ports.js'
import {convertTarget, plainPolicy, toBasisPoints} from './run/policy.js'

export interface PlannedStep {
  index: number
  weight: number
  bakeMs: number
  pause: boolean
  /** stable hosts converted to the new version before this step's weight applies */
  newHosts: Host[]
  grayHosts: Host[]
  stableHosts: Host[]
  policy: Policy
  native: string
}

export interface Plan {
  service: string
  version: string
  previousVersion: string | null
  grayPool: Host[]
  steps: PlannedStep[]
  /** the stable hosts still to deploy, then the plain policy the gateway returns to */
  completion: {hosts: Host[]; policy: Policy; native: string}
  gates: GrayConfig['gates'] | null
  warnings: string[]
  /** what the run keeps in its journal (src/core/config/frozen.ts): the config's hash and the environment variables it reads */
  config?: {hash: string; reads: string[]}
  /** the pools read from an inventory, and what each listed */
  inventory?: InventoryRead[]
}

/** Problems that make a config unsafe to run, beyond what the schema can see. */
export function planProblems(config: GrayConfig): string[] {
  const problems: string[] = []
  const stable = config.hosts.stable.length
  config.steps.forEach((step, i) => {
    const target = convertTarget(config.steps, stable, i)
    if (target >= stable && stable > 0 && step.weight < 100) {
      problems.push(`steps[${i}].hosts: must leave at least one stable host while the weight is below 100, got all ${stable} converted at weight ${step.weight}`)
    }
  })
  return problems
}

/**
 * A run with no known previous version (no completed run, no --previous-version):
 * gates that read the stable version's metrics find none, so the run would hold again
 * and again (refuse); otherwise only a rollback could not revert the hosts (warn).
 */
export function previousVersionGap(config: GrayConfig, previousVersion: string | null): {refuse: boolean; message: string; hint: string} | null {
  if (previousVersion) return null
  const hint = 'pass --previous-version V, the version the stable hosts run now (later runs take it from the last completed run)'
  const stableReaders = (config.gates?.checks ?? []).filter((c) => c.baseline || JSON.stringify(c).includes('{previousVersion}')).map((c) => c.name)
  if (stableReaders.length > 0) {
    return {
      refuse: true,
      message: `no previous version of ${config.service} is known (no run has completed, and --previous-version was not given): the gate${stableReaders.length === 1 ? '' : 's'} ${stableReaders.join(', ')} measure${stableReaders.length === 1 ? 's' : ''} the stable version, which would read no data, so the run would only hold`,
      hint,
    }
  }
  // a config run has no hosts to revert: its rollback deletes the gray value
  if (config.kind === 'config') return null
  return {refuse: false, message: `no previous version of ${config.service} is known (pass --previous-version V): a rollback could not revert the hosts that got the new version`, hint}
}

export function buildPlan(config: GrayConfig, gateway: Gateway, version: string, previousVersion: string | null): Plan {
  const stable = config.hosts.stable
  const warnings: string[] = []
  const gap = previousVersionGap(config, previousVersion)
  if (gap) warnings.push(gap.refuse ? `${gap.message}; gray start refuses this: ${gap.hint}` : gap.message)
  if (!config.gates || config.gates.checks.length === 0) warnings.push('no gates are configured: nothing guards this run but the bake times')
  const last = config.steps.at(-1)
  if (last && last.weight < 100) {
    warnings.push(
      config.kind === 'config'
        ? `the last step gives the gray value to ${last.weight}% of users; promote then gives it to everyone without a bake at 100%`
        : `the last step sends ${last.weight}% to gray; completion then moves all traffic without a bake at 100%`,
    )
  }
  if (!gateway.capabilities().stickySplit) warnings.push(`the ${gateway.type} gateway splits per request, not per user: a user may see both versions`)
  let converted = 0
  const steps = config.steps.map((step, index): PlannedStep => {
    const target = convertTarget(config.steps, stable.length, index)
    const newHosts = stable.slice(converted, target)
    converted = target // convertTarget only grows
    const grayHosts = [...config.hosts.gray, ...stable.slice(0, converted)]
    const stableHosts = stable.slice(converted)
    const policy: Policy = {
      service: config.service,
      revision: `plan.${index + 1}`,
      mode: 'split',
      weightBp: toBasisPoints(step.weight),
      sticky: config.traffic.sticky,
      rules: config.traffic.rules,
      tag: config.traffic.tag,
      stable: stableHosts,
      gray: grayHosts,
    }
    return {index, weight: step.weight, bakeMs: step.bakeMs, pause: step.pause, newHosts, grayHosts, stableHosts, policy, native: gateway.render(policy)}
  })
  // plan.<n> for the steps, plan.<n+1> for the plain policy after them
  const plainForm = plainPolicy(config, {runId: 'plan', lastSeq: steps.length})
  // a config run's completion promotes the gray value to the official key
  const plain: Policy = config.kind === 'config' ? {...plainForm, release: {promote: true}} : plainForm
  return {
    service: config.service,
    version,
    previousVersion,
    grayPool: config.hosts.gray,
    steps,
    completion: {hosts: stable.slice(converted), policy: plain, native: gateway.render(plain)},
    gates: config.gates ?? null,
    warnings,
  }
}
