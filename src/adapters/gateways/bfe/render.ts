// A Policy in BFE's own files (BFE's documented data formats):
//   server_data_conf/route_rule.data  the product's advanced route rules (Cond → ClusterName)
//   server_data_conf/cluster_conf.data  gray's two clusters
//   cluster_conf/cluster_table.data     their backends, one sub-cluster each
//   cluster_conf/gslb.data              the sub-cluster weights (all on the one sub-cluster)
//   mod_header/header_rule.data         the tag on gray requests only
// Routing reads as decide.ts: rules first (req_*_value_in / _prefix_in / _regmatch,
// req_cip_range), then the sticky split req_*_value_hash_in("0-(W-1)"), whose
// bucket is murmur3.Sum64(key) % 10000 (src/core/policy/murmur3.ts), the range
// starting at the run's cohort seed's offset (grayBuckets); then stable.
import ipaddr from 'ipaddr.js'
import type {Field, Host, Rule, StickyKey} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import {bucketOffset, FULL_WEIGHT_BP, SEED_PATTERN} from '../../../core/policy/hash.js'
import type {Policy} from '../../../core/ports.js'
import {integerRangePattern} from '../patterns.js'

export const FILES = {
  routeRule: 'server_data_conf/route_rule.data',
  clusterConf: 'server_data_conf/cluster_conf.data',
  clusterTable: 'cluster_conf/cluster_table.data',
  gslb: 'cluster_conf/gslb.data',
  headerRule: 'mod_header/header_rule.data',
} as const

export type FileKey = keyof typeof FILES
export type Json = Record<string, unknown>

export function clusterNames(service: string): {stable: string; gray: string} {
  const safe = service.replace(/[^A-Za-z0-9_]/g, '_')
  return {stable: `gray_${safe}_stable`, gray: `gray_${safe}_gray`}
}

/** What gray writes into every file's Version: read back, it says what BFE loaded. */
export function versionOf(policy: Pick<Policy, 'mode' | 'weightBp' | 'revision'>): string {
  return `gray:${policy.mode}:${policy.mode === 'split' ? policy.weightBp : 0}:${policy.revision}`
}

export function parseVersion(text: unknown): {mode: 'split' | 'plain'; weightBp: number; revision: string} | null {
  const match = typeof text === 'string' ? /^gray:(split|plain):(\d+):(.+)$/.exec(text) : null
  return match ? {mode: match[1] as 'split' | 'plain', weightBp: Number(match[2]), revision: match[3] as string} : null
}

const str = (text: string) => JSON.stringify(text)

function valueText(text: string, what: string): string {
  // BFE splits a pattern list on "|"
  if (text.includes('|')) throw new GatewayError(`BFE reads "|" in ${what} as a list separator, so gray cannot match ${str(text)}; change the rule in gray.yaml.`, {permanent: true})
  return text
}

function prefixOf(field: Field): string {
  return field.source === 'header' ? 'req_header_value' : field.source === 'cookie' ? 'req_cookie_value' : 'req_query_value'
}

export function ruleCond(rule: Rule): string {
  if (rule.kind === 'cidr') return rule.cidrs.map(cipRange).join(' || ')
  const fn = prefixOf(rule.field)
  const name = str(rule.field.name)
  switch (rule.kind) {
    case 'equals':
      return `${fn}_in(${name}, ${str(valueText(rule.value, 'a rule value'))}, false)`
    case 'in':
      return `${fn}_in(${name}, ${str(rule.values.map((v) => valueText(v, 'a rule value')).join('|'))}, false)`
    case 'prefix':
      return `${fn}_prefix_in(${name}, ${str(valueText(rule.value, 'a rule prefix'))}, false)`
    case 'range':
      return `${fn}_regmatch(${name}, ${str(`^${integerRangePattern(rule.min, rule.max)}$`)})`
  }
}

/**
 * The buckets gray takes: `weightBp` of them from the cohort seed's offset on, wrapping at 10000
 * (BFE's primitives hash the key alone, so a run's seed turns the ring instead of salting the hash).
 */
export function grayBuckets(weightBp: number, seed?: string): string {
  const from = bucketOffset(seed)
  const to = from + weightBp - 1
  return to < FULL_WEIGHT_BP ? `${from}-${to}` : `${from}-${FULL_WEIGHT_BP - 1}|0-${to - FULL_WEIGHT_BP}`
}

/** The split: the key present and non-empty (an empty one would hash to bucket 0), and its bucket among gray's. */
export function splitCond(sticky: StickyKey, weightBp: number, seed?: string): string {
  if (seed !== undefined && !SEED_PATTERN.test(seed)) throw new GatewayError(`The cohort seed "${seed}" is not 8 hex digits.`, {permanent: true})
  const buckets = str(grayBuckets(weightBp, seed))
  if (sticky.kind === 'ip') return `req_cip_hash_in(${buckets})`
  const fn = prefixOf({source: sticky.kind, name: sticky.name})
  const name = str(sticky.name)
  return `!${fn}_in(${name}, "", false) && ${fn}_hash_in(${name}, ${buckets}, false)`
}

function cipRange(text: string): string {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number]
  try {
    parsed = ipaddr.parseCIDR(text.trim())
  } catch {
    throw new GatewayError(`"${text}" is not an IP range such as 10.0.0.0/8; fix the ip rule in gray.yaml.`, {permanent: true})
  }
  let [address, bits] = parsed
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address()
    bits -= 96
  }
  const text4 = `${address.toString()}/${bits}`
  const first = ipaddr.IPv4.isValidCIDRFourPartDecimal(text4) ? ipaddr.IPv4.networkAddressFromCIDR(text4) : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`)
  const last = ipaddr.IPv4.isValidCIDRFourPartDecimal(text4) ? ipaddr.IPv4.broadcastAddressFromCIDR(text4) : ipaddr.IPv6.broadcastAddressFromCIDR(`${address.toString()}/${bits}`)
  return `req_cip_range(${str(first.toString())}, ${str(last.toString())})`
}

export interface Rendered {
  /** the product's route rules, in order */
  routes: Array<{Cond: string; ClusterName: string}>
  /** the condition under which a request goes to gray (for the tag), or null when none does */
  grayCond: string | null
}

export function renderRoutes(policy: Policy): Rendered {
  const names = clusterNames(policy.service)
  if (policy.stable.length === 0) throw new GatewayError(`The policy for ${policy.service} has no stable hosts; list hosts.stable in gray.yaml.`, {permanent: true})
  const routes: Rendered['routes'] = []
  if (policy.mode === 'split') {
    if (policy.gray.length === 0 && (policy.weightBp > 0 || policy.rules.length > 0)) {
      throw new GatewayError(`The policy for ${policy.service} sends traffic to gray but lists no gray hosts; list hosts.gray in gray.yaml.`, {permanent: true})
    }
    for (const rule of policy.rules) routes.push({Cond: ruleCond(rule), ClusterName: names.gray})
    if (policy.weightBp >= FULL_WEIGHT_BP) routes.push({Cond: 'default_t()', ClusterName: names.gray})
    else if (policy.weightBp > 0) routes.push({Cond: splitCond(policy.sticky, policy.weightBp, policy.seed), ClusterName: names.gray})
  }
  const grayCond = routes.length === 0 ? null : routes.map((r) => `(${r.Cond})`).join(' || ')
  routes.push({Cond: 'default_t()', ClusterName: names.stable})
  return {routes, grayCond}
}

function backends(cluster: string, hosts: Host[]): Json {
  return {
    [`${cluster}.all`]: hosts.map((host) => {
      const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(host.address)
      if (!match) throw new GatewayError(`Host ${host.name} has address "${host.address}", which is not host:port; fix it in gray.yaml.`, {permanent: true})
      return {Name: host.name, Addr: match[1], Port: Number(match[2]), Weight: 1}
    }),
  }
}

const CLUSTER_CONF = {
  BackendConf: {TimeoutConnSrv: 2000, TimeoutResponseHeader: 50000, MaxIdleConnsPerHost: 0, RetryLevel: 0},
  CheckConf: {Schem: 'http', Uri: '/', Host: '', StatusCode: 0},
  GslbBasic: {CrossRetry: 0, RetryMax: 2, HashConf: {HashStrategy: 0, HashHeader: '', SessionSticky: false}},
  ClusterBasic: {TimeoutReadClient: 30000, TimeoutWriteClient: 60000, TimeoutReadClientAgain: 30000},
}

/** Each file with gray's parts replaced and everything else in it kept. */
export function renderFiles(policy: Policy, product: string, previous: Record<FileKey, Json | null>): Record<FileKey, Json> {
  const names = clusterNames(policy.service)
  const version = versionOf(policy)
  const {routes, grayCond} = renderRoutes(policy)
  const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {})
  const route = obj(previous.routeRule)
  const clusterConf = obj(previous.clusterConf)
  const table = obj(previous.clusterTable)
  const gslb = obj(previous.gslb)
  const header = obj(previous.headerRule)
  const headerConfig = {...obj(header.Config)}
  if (policy.tag) {
    headerConfig[product] = [
      // a tag a client sent never reaches a host
      {cond: 'default_t()', actions: [{cmd: 'REQ_HEADER_DEL', params: [policy.tag.header]}], last: grayCond === null},
      ...(grayCond === null ? [] : [{cond: grayCond, actions: [{cmd: 'REQ_HEADER_SET', params: [policy.tag.header, policy.tag.value]}], last: true}]),
    ]
  } else {
    delete headerConfig[product]
  }
  return {
    routeRule: {...route, Version: version, ProductRule: {...obj(route.ProductRule), [product]: routes}},
    clusterConf: {...clusterConf, Version: version, Config: {...obj(clusterConf.Config), [names.stable]: CLUSTER_CONF, [names.gray]: CLUSTER_CONF}},
    clusterTable: {...table, Version: version, Config: {...obj(table.Config), [names.stable]: backends(names.stable, policy.stable), [names.gray]: backends(names.gray, policy.gray)}},
    gslb: {
      ...gslb,
      Hostname: typeof gslb.Hostname === 'string' ? gslb.Hostname : '',
      Ts: version,
      Clusters: {...obj(gslb.Clusters), [names.stable]: {GSLB_BLACKHOLE: 0, [`${names.stable}.all`]: 100}, [names.gray]: {GSLB_BLACKHOLE: 0, [`${names.gray}.all`]: 100}},
    },
    headerRule: {...header, Version: version, Config: headerConfig},
  }
}
