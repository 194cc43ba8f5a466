// A Policy in APISIX's words: the route's traffic-split plugin plus labels that
// say which revision gray wrote. Rules are checked in order, first match wins:
// gray's rules → gray; a request with the sticky key → the weighted split;
// every other request → stable.
import type {Field, Host, Rule} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import {FULL_WEIGHT_BP} from '../../../core/policy/hash.js'
import type {AppliedPolicy, Policy} from '../../../core/ports.js'
import {integerRangePattern, regexLiteral} from '../patterns.js'

export type Expression = [string, string, string | string[]]

export interface WeightedUpstream {
  upstream?: {type: 'roundrobin'; nodes: Record<string, number>}
  weight: number
}

export interface SplitRule {
  match?: {vars: Expression[]}[]
  weighted_upstreams: WeightedUpstream[]
}

export interface TrafficSplit {
  rules: SplitRule[]
}

export const LABELS = {revision: 'gray-revision', weight: 'gray-weight-bp', mode: 'gray-mode'} as const

/** The APISIX variable that reads a request field (nginx variable names). */
export function variableOf(field: Field): string {
  switch (field.source) {
    case 'header':
      return `http_${field.name.toLowerCase().replaceAll('-', '_')}`
    case 'cookie':
      return `cookie_${field.name}`
    case 'query':
      return `arg_${field.name}`
  }
}

export function expressionOf(rule: Rule): Expression {
  if (rule.kind === 'cidr') return ['remote_addr', 'ipmatch', [...rule.cidrs]]
  const variable = variableOf(rule.field)
  switch (rule.kind) {
    case 'equals':
      return [variable, '==', rule.value]
    case 'in':
      return [variable, 'in', [...rule.values]]
    case 'prefix':
      return [variable, '~~', `^${regexLiteral(rule.value)}`]
    case 'range':
      // a regex, not >= and <=, so "1500.5" or "1e3" is no user id, as in decide.ts
      return [variable, '~~', `^${integerRangePattern(rule.min, rule.max)}$`]
  }
}

function upstreamOf(hosts: Host[], cohort: string): WeightedUpstream['upstream'] {
  if (hosts.length === 0) {
    throw new GatewayError(`The policy sends traffic to ${cohort} but lists no ${cohort} hosts; list hosts.${cohort} in gray.yaml.`, {permanent: true})
  }
  return {type: 'roundrobin', nodes: Object.fromEntries(hosts.map((host) => [host.address, 1]))}
}

export function trafficSplitOf(policy: Policy): TrafficSplit {
  const stable = upstreamOf(policy.stable, 'stable')
  if (policy.mode === 'plain') return {rules: [{weighted_upstreams: [{upstream: stable, weight: 1}]}]}
  const rules: SplitRule[] = []
  const toGray = () => [{upstream: upstreamOf(policy.gray, 'gray'), weight: 1}]
  if (policy.rules.length > 0) rules.push({match: policy.rules.map((rule) => ({vars: [expressionOf(rule)]})), weighted_upstreams: toGray()})
  if (policy.weightBp >= FULL_WEIGHT_BP) {
    rules.push({weighted_upstreams: toGray()})
    return {rules}
  }
  if (policy.weightBp > 0) {
    const split = [
      {upstream: upstreamOf(policy.gray, 'gray'), weight: policy.weightBp},
      {upstream: stable, weight: FULL_WEIGHT_BP - policy.weightBp},
    ]
    // a request without the sticky key never goes to gray by the split
    const key = policy.sticky.kind === 'ip' ? undefined : variableOf({source: policy.sticky.kind, name: policy.sticky.name})
    rules.push(key ? {match: [{vars: [[key, '~~', '.']]}], weighted_upstreams: split} : {weighted_upstreams: split})
  }
  rules.push({weighted_upstreams: [{upstream: stable, weight: 1}]})
  return {rules}
}

/** Label values must be non-empty without whitespace; the revision is URI-encoded to fit. */
export function labelsOf(policy: Policy): Record<string, string> {
  return {[LABELS.revision]: encodeURIComponent(policy.revision), [LABELS.weight]: String(policy.weightBp), [LABELS.mode]: policy.mode}
}

export function appliedFrom(labels: Record<string, unknown> | undefined): AppliedPolicy | null {
  const revision = labels?.[LABELS.revision]
  const weight = Number(labels?.[LABELS.weight])
  const mode = labels?.[LABELS.mode]
  if (typeof revision !== 'string' || !Number.isInteger(weight) || (mode !== 'split' && mode !== 'plain')) return null
  let decoded: string
  try {
    decoded = decodeURIComponent(revision)
  } catch {
    decoded = revision
  }
  return {revision: decoded, weightBp: weight, mode}
}
