// `gray cohort uid=u42`: is this user in gray now, and at each step — and what decides it.
import {gatewayCapabilities} from '../adapters/gateways/capabilities.js'
import type {GrayConfig, Host, Rule} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import {splitFor} from '../core/policy/split.js'
import {decide, type Decision, type RequestView} from '../core/policy/decide.js'
import {ruleToDocument, stickyText} from '../core/policy/document.js'
import type {Policy} from '../core/ports.js'
import {FULL_WEIGHT_BP, toBasisPoints} from '../core/run/policy.js'
import {isTerminal, type RunState} from '../core/run/state.js'
import type {Context} from './context.js'
import {latestRun} from './runs.js'

export interface CohortAnswer {
  service: string
  sticky: string
  key: string | null
  /** the key's place on the 0..9999 basis-point scale: gray exactly while the weight is above it */
  bucket: number | null
  /** false where the gateway splits per request (APISIX): the answer is a chance, not a cohort */
  stickySplit: boolean
  /** the cohort seed bucket and steps are for: the unfinished run's; null, the key alone (traffic.rotate: false, or a run from before seeds) */
  seed: string | null
  /** true when no run is unfinished and traffic.rotate is on: the next run picks a new seed, so bucket is null and a step the split decides is `unknown` */
  seedPending: boolean
  now: {state: string; weight: number; target: 'gray' | 'stable'; why: string} | null
  steps: Array<{index: number; weight: number; target: 'gray' | 'stable' | 'unknown'; why: string}>
}

/** Reads `name=value` pairs: the sticky key's own name (uid=u42), or header:/cookie:/query:NAME=value, or ip=ADDR. */
export function requestFrom(config: GrayConfig, pairs: string[]): RequestView {
  const req: RequestView = {headers: {}, cookies: {}, query: {}, ip: '192.0.2.1'}
  const sticky = config.traffic.sticky
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new ConfigError(`"${pair}": must be NAME=VALUE, like uid=u42 or header:X-Gray=1`)
    const name = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    const [kind, field] = name.includes(':') ? (name.split(':', 2) as [string, string]) : [undefined, name]
    if (name === 'ip') req.ip = value
    else if (kind === 'header') req.headers[field.toLowerCase()] = value
    else if (kind === 'cookie') req.cookies[field] = value
    else if (kind === 'query') req.query[field] = value
    else if (kind === undefined && sticky.kind !== 'ip' && sticky.name === field) {
      if (sticky.kind === 'header') req.headers[field.toLowerCase()] = value
      else if (sticky.kind === 'cookie') req.cookies[field] = value
      else req.query[field] = value
    } else {
      throw new ConfigError(`"${pair}": ${field} is not the sticky key (${stickyText(sticky)}); write header:NAME=, cookie:NAME=, query:NAME= or ip=`)
    }
  }
  return req
}

function why(d: Decision, rules: Rule[]): string {
  switch (d.reason.kind) {
    case 'plain':
      return 'plain policy: no split'
    case 'rule': {
      const rule = rules[d.reason.index]
      return `rule traffic.rules[${d.reason.index}] matches${rule ? ` ${JSON.stringify(ruleToDocument(rule))}` : ''}`
    }
    case 'no-key':
      return 'no sticky key in the request: the split never sends it to gray'
    case 'weight':
      return `hash bucket ${d.reason.bucket} ${d.reason.inGray ? '<' : '>='} weight ${d.reason.weightBp} (basis points)`
  }
}

/**
 * The policy the gateway serves now, as the run's journal tells it: the last confirmed weight and
 * revision, the rules while a step's policy is in force (a drain or rollback publishes none), and
 * the plain policy before the first publish and once the run has ended.
 */
export function policyInForce(config: GrayConfig, state: RunState | null): Policy {
  const applied = state?.applied
  const live = state && applied && !isTerminal(state)
  const base = {service: config.service, sticky: config.traffic.sticky, ...(config.traffic.tag ? {tag: config.traffic.tag} : {})}
  // the upstreams the gateway was given with that publish; names from the run's hosts
  const known = new Map([...config.hosts.gray, ...config.hosts.stable, ...(state?.hosts ?? [])].map((h) => [h.address, h.name]))
  const hosts = (addresses: readonly string[]): Host[] => addresses.map((address) => ({name: known.get(address) ?? address, address}))
  if (live && applied.mode === 'split') {
    const seed = state.cohortSeed ? {seed: state.cohortSeed} : {}
    return {...base, ...seed, revision: applied.revision, mode: 'split', weightBp: applied.weightBp, rules: applied.purpose === 'step' ? config.traffic.rules : [], stable: hosts(applied.stable), gray: hosts(applied.gray)}
  }
  const all = applied ? [...applied.gray, ...applied.stable] : [...config.hosts.gray, ...config.hosts.stable].map((h) => h.address)
  return {...base, revision: applied?.revision ?? 'none', mode: 'plain', weightBp: 0, rules: [], stable: hosts(all), gray: []}
}

export async function cohortOf(ctx: Context, pairs: string[]): Promise<CohortAnswer> {
  const {config} = ctx
  const req = requestFrom(config, pairs)
  const sticky = config.traffic.sticky
  const key = sticky.kind === 'ip' ? req.ip : sticky.kind === 'header' ? req.headers[sticky.name.toLowerCase()] : sticky.kind === 'cookie' ? req.cookies[sticky.name] : req.query[sticky.name]
  const policyAt = (weightBp: number, mode: Policy['mode'] = 'split'): Policy => ({
    service: config.service,
    revision: 'cohort',
    mode,
    weightBp,
    sticky,
    ...(seed ? {seed} : {}),
    rules: config.traffic.rules,
    stable: config.hosts.stable,
    gray: config.hosts.gray,
  })
  const split = splitFor(config.gateway.type)
  const run = await latestRun(ctx)
  // an unfinished run's seed decides its steps; after it, a rotating service's next run picks a new one
  const unfinished = run && !isTerminal(run.state) ? run.state : null
  const seed = unfinished?.cohortSeed ?? null
  const seedPending = !unfinished && config.traffic.rotate !== false
  let now: CohortAnswer['now'] = null
  if (run) {
    const s = run.state
    const policy = policyInForce(config, s)
    const d = decide(policy, req, split)
    now = {state: s.status, weight: policy.mode === 'plain' ? 0 : policy.weightBp / 100, target: d.target, why: why(d, policy.rules)}
  }
  return {
    service: config.service,
    sticky: stickyText(sticky),
    key: key ?? null,
    bucket: key && !seedPending ? split.bucketOf(key, seed ?? undefined) : null,
    stickySplit: gatewayCapabilities(config.gateway.type).stickySplit,
    seed,
    seedPending,
    now,
    steps: config.steps.map((step, index) => {
      const weightBp = toBasisPoints(step.weight)
      const d = decide(policyAt(weightBp), req, split)
      // a rule, a missing key and 100% decide without the hash; the split's bucket waits for the next run's seed
      if (seedPending && d.reason.kind === 'weight' && weightBp < FULL_WEIGHT_BP) {
        return {index, weight: step.weight, target: 'unknown' as const, why: "the next run's cohort seed decides (traffic.rotate): known once it starts"}
      }
      return {index, weight: step.weight, target: d.target, why: why(d, config.traffic.rules)}
    }),
  }
}
