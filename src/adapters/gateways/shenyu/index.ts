// The Apache ShenYu gateway: the divide plugin (pluginId "5") through the
// Admin API. gray owns two selectors per service:
//   gray-<service>-rules  sort 1: gray's rules as selector conditions (OR'ed), upstreams: the gray hosts;
//                         enabled only while the run splits traffic and has rules
//   gray-<service>        sort 2: every request (uri match /**), upstreams: the stable hosts at
//                         weight 10000-W and the gray hosts (gray: true) at W — per request, not per user
// Each selector has one rule whose name carries the revision, mode and weight;
// read-back reads it from the Admin API. What ShenYu cannot do is refused in
// render(), so `gray validate` and `gray plan` name it: a sticky split (plan
// warns, stickySplit: false), a tag header on gray requests only, and an IP
// range not on an octet boundary.
import type {ShenyuGatewayConfig} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import type {Rule} from '../../../core/config/model.js'
import {FULL_WEIGHT_BP} from '../../../core/policy/hash.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {integerRangePattern, regexLiteral} from '../patterns.js'
import {ControlPlane, type Method} from '../control-plane.js'
import {assertPublishesFor} from '../retry.js'
import {octetCidrRegex} from './cidr.js'

export const DIVIDE_PLUGIN_ID = '5'
const TIMEOUT_MS = 5000

export interface Condition {
  paramType: 'header' | 'cookie' | 'query' | 'ip' | 'uri'
  operator: '=' | 'regex' | 'startsWith' | 'match'
  paramName: string
  paramValue: string
}

export interface Upstream {
  upstreamHost: string
  protocol: 'http://'
  upstreamUrl: string
  weight: number
  status: boolean
  timestamp: number
  warmup: number
  gray: boolean
}

export interface SelectorBody {
  pluginId: string
  name: string
  type: 1
  matchMode: 0 | 1
  continued: false
  logged: false
  enabled: boolean
  sort: number
  handle: string
  selectorConditions: Condition[]
}

const ALL: Condition = {paramType: 'uri', operator: 'match', paramName: '/', paramValue: '/**'}

export function ruleCondition(rule: Rule): Condition[] {
  if (rule.kind === 'cidr') return rule.cidrs.map((cidr): Condition => ({paramType: 'ip', operator: 'regex', paramName: 'ip', paramValue: shenyuIpRegex(cidr)}))
  const base = {paramType: rule.field.source, paramName: rule.field.name}
  switch (rule.kind) {
    case 'equals':
      return [{...base, operator: '=', paramValue: rule.value}]
    case 'in':
      return [{...base, operator: 'regex', paramValue: `^(?:${rule.values.map(regexLiteral).join('|')})$`}]
    case 'prefix':
      return [{...base, operator: 'startsWith', paramValue: rule.value}]
    case 'range':
      return [{...base, operator: 'regex', paramValue: `^${integerRangePattern(rule.min, rule.max)}$`}]
  }
}

function shenyuIpRegex(cidr: string): string {
  const regex = octetCidrRegex(cidr)
  if (regex === null) {
    throw new GatewayError(`ShenYu matches a client IP by its text, not by range, so gray can express only IPv4 ranges ending in /8, /16, /24 or /32, not "${cidr}"; change the ip rule in gray.yaml.`, {permanent: true})
  }
  return regex
}

function upstreams(hosts: Policy['stable'], weight: number, gray: boolean): Upstream[] {
  return hosts.map((h) => ({upstreamHost: 'localhost', protocol: 'http://', upstreamUrl: h.address, weight, status: true, timestamp: 0, warmup: 0, gray}))
}

export function revisionName(policy: Pick<Policy, 'revision' | 'mode' | 'weightBp'>): string {
  return `gray ${policy.mode} ${policy.mode === 'split' ? policy.weightBp : 0} ${policy.revision}`
}

export function selectorsFor(policy: Policy): [SelectorBody, SelectorBody] {
  if (policy.tag && policy.mode === 'split') {
    throw new GatewayError('ShenYu cannot set a header only on requests the divide plugin sends to gray upstreams; remove traffic.tag for type: shenyu.', {permanent: true})
  }
  if (policy.stable.length === 0) throw new GatewayError(`The policy for ${policy.service} has no stable hosts; list hosts.stable in gray.yaml.`, {permanent: true})
  const split = policy.mode === 'split'
  if (split && policy.gray.length === 0 && (policy.weightBp > 0 || policy.rules.length > 0)) {
    throw new GatewayError(`The policy for ${policy.service} sends traffic to gray but lists no gray hosts; list hosts.gray in gray.yaml.`, {permanent: true})
  }
  const w = split ? policy.weightBp : 0
  const rulesOn = split && policy.rules.length > 0
  const main = [...(w < FULL_WEIGHT_BP ? upstreams(policy.stable, FULL_WEIGHT_BP - w, false) : []), ...(w > 0 ? upstreams(policy.gray, w, true) : [])]
  const common = {pluginId: DIVIDE_PLUGIN_ID, type: 1 as const, continued: false as const, logged: false as const}
  return [
    {...common, name: `gray-${policy.service}-rules`, matchMode: 1, enabled: rulesOn, sort: 1, handle: JSON.stringify(upstreams(policy.gray, 1, true)), selectorConditions: rulesOn ? policy.rules.flatMap(ruleCondition) : [ALL]},
    {...common, name: `gray-${policy.service}`, matchMode: 0, enabled: true, sort: 2, handle: JSON.stringify(main), selectorConditions: [ALL]},
  ]
}

export class ShenyuGateway implements Gateway {
  readonly type = 'shenyu'
  private token: string | null = null
  private readonly plane: ControlPlane

  constructor(
    private readonly config: ShenyuGatewayConfig,
    private readonly service: string,
  ) {
    const origin = new URL(config.url).origin
    this.plane = new ControlPlane({peer: `ShenYu's Admin API at ${origin}`, baseURL: origin, timeoutMs: TIMEOUT_MS})
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('shenyu')
  }

  render(policy: Policy): string {
    const name = revisionName(policy)
    return selectorsFor(policy)
      .map((s) => JSON.stringify({...s, handle: JSON.parse(s.handle) as unknown, rule: {name, conditions: [ALL]}}, null, 2))
      .join('\n')
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const bodies = selectorsFor(policy)
    const name = revisionName(policy)
    // the main selector last: the rules selector is in place (or switched off) before the weight moves
    for (const body of bodies) {
      const existing = await this.findSelector(body.name, signal)
      const id = existing ? (await this.call('PUT', `/selector/${existing.id}`, {...body, id: existing.id}, signal), existing.id) : String(await this.call('POST', '/selector', body, signal))
      const selectorId = existing?.id ?? (await this.findSelector(body.name, signal))?.id ?? id
      const rule = {selectorId, name, matchMode: 0, enabled: true, loged: false, sort: 1, handle: JSON.stringify({loadBalance: 'random', retry: 0, timeout: 3000}), ruleConditions: [ALL]}
      const rules = await this.rulesOf(selectorId, signal)
      if (rules[0]) await this.call('PUT', `/rule/${rules[0].id}`, {...rule, id: rules[0].id}, signal)
      else await this.call('POST', '/rule', rule, signal)
    }
    const served = await this.readBack(signal)
    if (!served || served.revision !== policy.revision) throw new GatewayError(`ShenYu's Admin API shows ${served ? `revision ${served.revision}` : 'nothing'} after gray wrote revision ${policy.revision}.`)
    return served
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const main = await this.findSelector(`gray-${this.service}`, signal)
    if (!main) return null
    const rule = (await this.rulesOf(main.id, signal))[0]
    const match = rule ? /^gray (split|plain) (\d+) (.+)$/.exec(rule.name) : null
    if (!match) return null
    return {mode: match[1] as 'split' | 'plain', weightBp: Number(match[2]), revision: match[3] as string}
  }

  private async findSelector(name: string, signal?: AbortSignal): Promise<{id: string} | null> {
    const data = (await this.call('GET', `/selector?pluginId=${DIVIDE_PLUGIN_ID}&name=${encodeURIComponent(name)}&currentPage=1&pageSize=20`, undefined, signal)) as {dataList?: Array<{id: string; name: string}>}
    return data.dataList?.find((s) => s.name === name) ?? null
  }

  private async rulesOf(selectorId: string, signal?: AbortSignal): Promise<Array<{id: string; name: string}>> {
    const data = (await this.call('GET', `/rule?selectorId=${encodeURIComponent(selectorId)}&currentPage=1&pageSize=20`, undefined, signal)) as {dataList?: Array<{id: string; name: string}>}
    return data.dataList ?? []
  }

  private async login(signal?: AbortSignal): Promise<string> {
    const path = `/platform/login?userName=${encodeURIComponent(this.config.userName)}&password=${encodeURIComponent(this.config.password)}`
    const answer = await this.fetchJson('get', path, undefined, signal)
    const token = (answer.data as {token?: unknown} | null)?.token
    if (answer.code !== 200 || typeof token !== 'string') {
      throw new GatewayError(`ShenYu's Admin API refused the login of ${this.config.userName} (${String(answer.message ?? answer.code)}); check gateway.userName and gateway.password.`, {permanent: true})
    }
    return token
  }

  private async call(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    this.token ??= await this.login(signal)
    const answer = await this.fetchJson(method.toLowerCase() as Method, path, body, signal, {'X-Access-Token': this.token})
    if (answer.code !== 200) {
      if (answer.code === 401) this.token = null
      throw new GatewayError(`ShenYu's Admin API refused ${method} ${path.split('?')[0]}: ${String(answer.message ?? answer.code)}.`, {permanent: answer.code !== 401 && answer.code !== 500})
    }
    return answer.data
  }

  /** one call; `path`'s query (the login's password) never reaches a message */
  private async fetchJson(method: Method, path: string, body: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<{code?: unknown; message?: unknown; data?: unknown}> {
    const what = path.split('?')[0] as string
    const response = await this.plane.request(method, path, body, signal, headers)
    this.plane.expectOk(response, `answer ${what}`)
    const data: unknown = response.data
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new GatewayError(`ShenYu's Admin API answered ${what} with something that is not JSON.`, {permanent: true})
    }
    return data as {code?: unknown; message?: unknown; data?: unknown}
  }
}
