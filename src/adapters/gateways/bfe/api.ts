// The BFE gateway (api mode): the same routing as files mode, written through
// BFE's API server (bfenetworks/api-server, docs/zh_cn/open_api), which
// conf-agent exports to every BFE. Under /open-api/v1, per product:
//   instance-pools/{product}.gray_<service>_<side>   the hosts of each side
//   sub-clusters/gray_<service>_<side>_sub          one sub-cluster on that pool
//   clusters/gray_<service>_<side>                  the cluster, and its scheduler
//                                                   (GSLB weights: all on the sub-cluster)
//   routes                                          the product's advanced forward rules
// Every answer is {ErrNum, ErrMsg, Data}; ErrNum 200 is success. The forward
// rules are files mode's route rules (render.ts: req_*_value_in, req_cip_range,
// the *_hash_in sticky split, default_t() to stable), each with the policy's
// version in its description; read-back reads them back from the API server.
// The API server has no endpoint for mod_header rules, so a tag is refused.
import type {AxiosResponse} from 'axios'
import type {BfeApiGatewayConfig, Host} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {ControlPlane, peerWords, type Method} from '../control-plane.js'
import {assertPublishesFor} from '../retry.js'
import {clusterNames, parseVersion, renderRoutes, versionOf} from './render.js'

export const API_PREFIX = '/open-api/v1'
const TIMEOUT_MS = 5000
export const TAG_REFUSAL = "BFE's API server has no endpoint for mod_header rules, so gray cannot set a header on gray requests only in mode: api (use mode: files, or remove traffic.tag)"

/** ErrNum the API server answers for a success (lib/xreq/result.go: Render) */
const OK = 200

export interface ForwardRule {
  name: string
  description: string
  expression: string
  cluster_name: string
}

interface Side {
  cluster: string
  subCluster: string
  /** the pool's full name, {product}.{name} */
  pool: string
  hosts: Host[]
}

/** The forward rules gray owns for `policy`, in order; each carries the policy's version. */
export function forwardRules(policy: Policy): ForwardRule[] {
  if (policy.tag && policy.mode === 'split') throw new GatewayError(`${TAG_REFUSAL}.`, {permanent: true})
  const version = versionOf(policy)
  const safe = policy.service.replace(/[^A-Za-z0-9_]/g, '_')
  return renderRoutes(policy).routes.map((r, i) => ({name: `gray_${safe}_${i + 1}`, description: version, expression: r.Cond, cluster_name: r.ClusterName}))
}

export class BfeApiGateway implements Gateway {
  readonly type = 'bfe'
  private readonly plane: ControlPlane
  private readonly base: string

  constructor(
    private readonly config: BfeApiGatewayConfig,
    private readonly service: string,
    timings: {requestTimeoutMs?: number} = {},
  ) {
    this.plane = new ControlPlane({
      peer: `BFE's API server at ${new URL(config.url).origin}`,
      baseURL: config.url.replace(/\/+$/, '') + API_PREFIX,
      timeoutMs: timings.requestTimeoutMs ?? TIMEOUT_MS,
      headers: {authorization: `Token ${config.token}`},
    })
    this.base = `/products/${encodeURIComponent(config.product)}`
  }

  capabilities(): GatewayCapabilities {
    return {...gatewayCapabilities('bfe'), tag: false, tagReason: TAG_REFUSAL}
  }

  render(policy: Policy): string {
    return JSON.stringify({forward_rules: forwardRules(policy), scheduler: Object.fromEntries(this.sides(policy).map((s) => [s.cluster, this.scheduler(s)]))}, null, 2)
  }

  async check(signal?: AbortSignal): Promise<void> {
    await this.call('get', this.base, undefined, signal)
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const rules = forwardRules(policy)
    // the pools, sub-clusters and clusters first: the API server refuses a rule whose cluster does not exist
    for (const side of this.sides(policy)) await this.ensureSide(side, signal)
    const routes = await this.routes(signal)
    await this.call('patch', `${this.base}/routes`, {basic_forward_rules: routes.basic_forward_rules ?? [], forward_rules: rules}, signal)
    const served = await this.readBack(signal)
    if (!served || served.revision !== policy.revision) {
      throw new GatewayError(`BFE's API server shows ${served ? `revision ${served.revision}` : 'no gray routes'} after gray wrote revision ${policy.revision}; another writer may be changing product ${this.config.product}.`)
    }
    return served
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const names = clusterNames(this.service)
    const own = (await this.routes(signal)).forward_rules?.filter((r) => r.cluster_name === names.stable || r.cluster_name === names.gray) ?? []
    if (own.length === 0) return null
    const versions = own.map((r) => parseVersion(r.description))
    const first = versions[0]
    if (!first || versions.some((v) => !v || v.revision !== first.revision)) {
      throw new GatewayError(`Product ${this.config.product}'s forward rules on BFE's API server carry different revisions (${versions.map((v) => v?.revision ?? 'none').join(', ')}); publish again.`)
    }
    return {revision: first.revision, mode: first.mode, weightBp: first.weightBp}
  }

  private sides(policy: Policy): Side[] {
    const names = clusterNames(policy.service)
    return (['stable', 'gray'] as const).map((side) => ({
      cluster: names[side],
      subCluster: `${names[side]}_sub`,
      pool: `${this.config.product}.${names[side]}`,
      hosts: side === 'stable' ? policy.stable : policy.gray,
    }))
  }

  /** every BFE cluster sends all of the cluster's traffic to its one sub-cluster */
  private scheduler(side: Side): Record<string, Record<string, number>> {
    return Object.fromEntries(this.config.bfeClusters.map((bfe) => [bfe, {[side.subCluster]: 100, GSLB_BLACKHOLE: 0}]))
  }

  private async ensureSide(side: Side, signal?: AbortSignal): Promise<void> {
    const pool = {name: side.pool, instances: side.hosts.map(instanceOf)}
    const poolPath = `${this.base}/instance-pools/${encodeURIComponent(side.pool)}`
    if (await this.exists(poolPath, signal)) await this.call('patch', poolPath, pool, signal)
    else await this.call('post', `${this.base}/instance-pools`, pool, signal)

    if (!(await this.exists(`${this.base}/sub-clusters/${encodeURIComponent(side.subCluster)}`, signal))) {
      await this.call('post', `${this.base}/sub-clusters`, {name: side.subCluster, instance_pool: side.pool, description: 'gray: owned by gray'}, signal)
    }

    const clusterPath = `${this.base}/clusters/${encodeURIComponent(side.cluster)}`
    const scheduler = this.scheduler(side)
    const cluster = (await this.exists(clusterPath, signal)) as {sub_clusters?: unknown} | null
    if (!cluster) {
      await this.call('post', `${this.base}/clusters`, {name: side.cluster, description: 'gray: owned by gray', ...CLUSTER_BASIC, sub_clusters: [side.subCluster], scheduler}, signal)
      return
    }
    const subs = Array.isArray(cluster.sub_clusters) ? (cluster.sub_clusters as unknown[]).map(String) : []
    if (!subs.includes(side.subCluster)) await this.call('patch', `${clusterPath}/sub-clusters`, {name: side.cluster, sub_clusters: [...subs, side.subCluster]}, signal)
    const now = (await this.call('get', `${clusterPath}/scheduler`, undefined, signal)) as {scheduler?: unknown} | null
    if (JSON.stringify(now?.scheduler) !== JSON.stringify(scheduler)) await this.call('patch', `${clusterPath}/scheduler`, scheduler, signal)
  }

  private async routes(signal?: AbortSignal): Promise<{basic_forward_rules?: unknown[]; forward_rules?: ForwardRule[]}> {
    const data = (await this.call('get', `${this.base}/routes`, undefined, signal)) as {basic_forward_rules?: unknown[]; forward_rules?: ForwardRule[]} | null
    return data ?? {}
  }

  /** the object's Data, or null when the API server has no such record (ErrNum 404) */
  private async exists(path: string, signal?: AbortSignal): Promise<Record<string, unknown> | null> {
    const answer = await this.answer('get', path, undefined, signal)
    if (answer.ErrNum === 404) return null
    return this.data('get', path, answer) as Record<string, unknown>
  }

  private async call(method: Method, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.data(method, path, await this.answer(method, path, body, signal))
  }

  private data(method: Method, path: string, answer: {ErrNum: number; ErrMsg: string; Data: unknown}): unknown {
    if (answer.ErrNum === OK) return answer.Data
    const hint = answer.ErrNum === 401 || answer.ErrNum === 402 ? ` Check gateway.token: a token with the Product scope of ${this.config.product} (Authorization: Token …).` : ''
    // 500 (any other failure) and 510 (a pool not ready yet) may pass; a refused parameter, a missing right or a record never will
    throw new GatewayError(`BFE's API server refused ${method.toUpperCase()} ${API_PREFIX}${path}: ErrNum ${answer.ErrNum}, "${peerWords(answer.ErrMsg)}".${hint}`, {
      permanent: answer.ErrNum !== 500 && answer.ErrNum !== 510,
    })
  }

  private async answer(method: Method, path: string, body: unknown, signal?: AbortSignal): Promise<{ErrNum: number; ErrMsg: string; Data: unknown}> {
    const response: AxiosResponse = await this.plane.request(method, path, body, signal)
    const data = response.data as {ErrNum?: unknown; ErrMsg?: unknown; Data?: unknown} | null
    if (typeof data !== 'object' || data === null || typeof data.ErrNum !== 'number') {
      // not the API server's answer: a proxy's page, a wrong URL
      this.plane.expectOk(response, `answer ${API_PREFIX}${path}`)
      throw new GatewayError(`BFE's API server answered ${API_PREFIX}${path} without its {ErrNum, ErrMsg, Data}; check gateway.url.`, {permanent: true})
    }
    return {ErrNum: data.ErrNum, ErrMsg: typeof data.ErrMsg === 'string' ? data.ErrMsg : '', Data: data.Data ?? null}
  }
}

function instanceOf(host: Host): {hostname: string; ip: string; weight: number; ports: {Default: number}} {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(host.address)
  if (!match) throw new GatewayError(`Host ${host.name} has address "${host.address}", which is not host:port; fix it in gray.yaml.`, {permanent: true})
  return {hostname: host.name, ip: match[1] as string, weight: 1, ports: {Default: Number(match[2])}}
}

/** the settings of a cluster gray creates (open_api/02product/0203-clusters.md) */
const CLUSTER_BASIC = {
  basic: {
    connection: {max_idle_conn_per_rs: 0, cancel_on_client_close: false},
    retries: {max_retry_in_subcluster: 2, max_retry_cross_subcluster: 0},
    buffers: {req_write_buffer_size: 512},
    timeouts: {timeout_conn_serv: 2000, timeout_response_header: 50000, timeout_readbody_client: 30000, timeout_read_client_again: 30000, timeout_write_client: 60000},
  },
  sticky_sessions: {session_sticky_type: 'INSTANCE', hash_strategy: 'CLIENT_IP_ONLY', hash_header: ''},
  passive_health_check: {interval: 1000, failnum: 10, host: 'localhost', uri: '/', statuscode: 0},
}
