// An in-process FAKE of BFE (bfenetworks/bfe), for tests: BFE has no Debian
// package and cannot run on this machine. It is built from BFE's documented
// file formats and its condition language:
//   server_data_conf/route_rule.data  {"Version", "ProductRule": {product: [{"Cond", "ClusterName"}]}}
//   server_data_conf/cluster_conf.data {"Version", "Config": {cluster: {...}}}
//   cluster_conf/cluster_table.data   {"Version", "Config": {cluster: {subcluster: [{"Name","Addr","Port","Weight"}]}}}
//   cluster_conf/gslb.data            {"Hostname", "Ts", "Clusters": {cluster: {"GSLB_BLACKHOLE": 0, subcluster: weight}}}
//   mod_header/header_rule.data       {"Version", "Config": {product: [{"cond", "actions": [{"cmd","params"}], "last"}]}}
// and the monitor port's reload entries /reload/server_data_conf,
// /reload/gslb_data_conf, /reload/mod_header (bfe_modules register
// WebHandleReload under the module's name). Conditions are parsed as BFE's
// parser does for the primitives gray writes (bfe_basic/condition/parser:
// funcProtos; && || ! and parentheses); an unknown primitive or wrong argument
// types fail the reload, as in BFE. *_hash_in buckets are murmur3.Sum64 % 10000
// (bfe_basic/condition/primitive.go GetHash, HashMatcherBucketSize = 10000).
// The loaded versions are served as BFE's monitor handlers serve them
// (bfe_server/web_server.go monitorHandlers, bfe_server/monitor_stat.go):
//   /monitor/host_table_version    bfe_route.Versions {HostTag, Vip, ProductRoute}
//   /monitor/cluster_table_version bfe_route.ClusterVersion {ClusterConfVer}
//   /monitor/bal_table_version     bfe_balance.BalVersion {ClusterTableConfVer, GslbConfTimeStamp, GslbConfSrc}
// mod_header registers only its reload handler, so nothing reports its version.
// It routes in-process (route()) rather than proxying, as the APISIX fake does.
// startFakeBfeApi() below fakes BFE's API server (api mode); the documents and
// handlers of bfenetworks/api-server it follows are listed at its section.
import {readFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import ipaddr from 'ipaddr.js'
import {bfeBucket} from '../../src/core/policy/murmur3.js'

export interface BfeRequest {
  headers?: Record<string, string | undefined>
  cookies?: Record<string, string>
  query?: Record<string, string>
  ip?: string
}

type Cond = (req: BfeRequest) => boolean
type Arg = {kind: 'string'; value: string} | {kind: 'bool'; value: boolean}

const PROTOS: Record<string, Array<'string' | 'bool'>> = {
  default_t: [],
  req_header_key_in: ['string'],
  req_header_value_in: ['string', 'string', 'bool'],
  req_header_value_prefix_in: ['string', 'string', 'bool'],
  req_header_value_regmatch: ['string', 'string'],
  req_header_value_hash_in: ['string', 'string', 'bool'],
  req_cookie_key_in: ['string'],
  req_cookie_value_in: ['string', 'string', 'bool'],
  req_cookie_value_prefix_in: ['string', 'string', 'bool'],
  req_cookie_value_regmatch: ['string', 'string'],
  req_cookie_value_hash_in: ['string', 'string', 'bool'],
  req_query_value_in: ['string', 'string', 'bool'],
  req_query_value_prefix_in: ['string', 'string', 'bool'],
  req_query_value_regmatch: ['string', 'string'],
  req_query_value_hash_in: ['string', 'string', 'bool'],
  req_cip_range: ['string', 'string'],
  req_cip_hash_in: ['string'],
}

/** Parses a BFE condition expression into a predicate; throws as BFE's parser would. */
export function parseCond(text: string): Cond {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|&&|\|\||[!(),]|[A-Za-z_][A-Za-z0-9_]*|\S/g) ?? []
  let i = 0
  const peek = () => tokens[i]
  const take = (want?: string) => {
    const t = tokens[i++]
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`condition ${JSON.stringify(text)}: expected ${want ?? 'more'} at token ${i}`)
    return t
  }
  const or = (): Cond => {
    let left = and()
    while (peek() === '||') {
      take()
      const l = left
      const r = and()
      left = (q) => l(q) || r(q)
    }
    return left
  }
  const and = (): Cond => {
    let left = unary()
    while (peek() === '&&') {
      take()
      const l = left
      const r = unary()
      left = (q) => l(q) && r(q)
    }
    return left
  }
  const unary = (): Cond => {
    if (peek() === '!') {
      take()
      const inner = unary()
      return (q) => !inner(q)
    }
    if (peek() === '(') {
      take()
      const inner = or()
      take(')')
      return inner
    }
    return call()
  }
  const call = (): Cond => {
    const name = take()
    const proto = PROTOS[name]
    if (!proto) throw new Error(`primitive ${name} not found`)
    take('(')
    const args: Arg[] = []
    while (peek() !== ')') {
      const t = take()
      if (t.startsWith('"')) args.push({kind: 'string', value: JSON.parse(t) as string})
      else if (t === 'true' || t === 'false') args.push({kind: 'bool', value: t === 'true'})
      else throw new Error(`bad argument ${t}`)
      if (peek() === ',') take()
    }
    take(')')
    if (args.length !== proto.length || args.some((a, k) => a.kind !== proto[k])) throw new Error(`primitive ${name} args error`)
    return primitive(name, args.map((a) => a.value) as never[])
  }
  const cond = or()
  if (i !== tokens.length) throw new Error(`condition ${JSON.stringify(text)}: unexpected ${tokens[i]}`)
  return cond
}

function buckets(patterns: string): boolean[] {
  const set = new Array<boolean>(10_000).fill(false)
  for (const section of patterns.split('|')) {
    const [a, b] = section.split('-').map((n) => Number(n.trim()))
    if (a === undefined || !Number.isInteger(a) || a < 0 || a >= 10_000 || (b !== undefined && (!Number.isInteger(b) || b < a || b >= 10_000))) throw new Error(`hash value section ${section} error`)
    for (let k = a; k <= (b ?? a); k++) set[k] = true
  }
  return set
}

function primitive(name: string, args: Array<string | boolean>): Cond {
  if (name === 'default_t') return () => true
  if (name === 'req_cip_range') {
    const [lo, hi] = (args as string[]).map((a) => ipaddr.parse(a).toByteArray())
    return (q) => {
      const ip = ipaddr.process(q.ip ?? '0.0.0.0').toByteArray()
      const cmp = (x: number[], y: number[]) => (x.length !== y.length ? NaN : Buffer.compare(Buffer.from(x), Buffer.from(y)))
      return cmp(ip, lo as number[]) >= 0 && cmp(ip, hi as number[]) <= 0
    }
  }
  if (name === 'req_cip_hash_in') {
    const set = buckets(args[0] as string)
    return (q) => set[bfeBucket(ipaddr.process(q.ip ?? '0.0.0.0').toString())] === true
  }
  const [, source, what] = /^req_(header|cookie|query)_(.+)$/.exec(name) as unknown as [string, 'header' | 'cookie' | 'query', string]
  const key = args[0] as string
  const fetch = (q: BfeRequest): string | undefined => {
    if (source === 'header') return Object.entries(q.headers ?? {}).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1]
    return (source === 'cookie' ? q.cookies : q.query)?.[key]
  }
  switch (what) {
    case 'key_in':
      return (q) => fetch(q) !== undefined
    case 'value_in': {
      const values = (args[1] as string).split('|')
      return (q) => {
        const v = fetch(q)
        return v !== undefined && values.includes(v)
      }
    }
    case 'value_prefix_in': {
      const prefixes = (args[1] as string).split('|')
      return (q) => {
        const v = fetch(q)
        return v !== undefined && prefixes.some((p) => v.startsWith(p))
      }
    }
    case 'value_regmatch': {
      const re = new RegExp(args[1] as string)
      return (q) => {
        const v = fetch(q)
        return v !== undefined && re.test(v)
      }
    }
    case 'value_hash_in': {
      const set = buckets(args[1] as string)
      return (q) => {
        const v = fetch(q)
        return v !== undefined && set[bfeBucket(args[2] ? v.toLowerCase() : v)] === true
      }
    }
  }
  throw new Error(`primitive ${name} not found`)
}

interface Loaded {
  routes: Map<string, Array<{cond: Cond; cluster: string}>>
  clusters: Set<string>
  table: Record<string, Record<string, Array<{Name: string; Addr: string; Port: number; Weight: number}>>>
  gslb: Record<string, Record<string, number>>
  headers: Map<string, Array<{cond: Cond; actions: Array<{cmd: string; params: string[]}>; last: boolean}>>
  versions: {route_rule?: string; cluster_conf?: string; cluster_table?: string; gslb?: string; gslbSrc?: string; header_rule?: string}
}

export interface BfeRouted {
  cluster: string
  backend: string | null
  /** the request's headers after mod_header */
  headers: Record<string, string>
}

export interface FakeBfe {
  monitor: string
  reloads: string[]
  /** answer the next reload of this name with an error */
  rejectNext: string | null
  route(product: string, req: BfeRequest): BfeRouted
  close(): Promise<void>
}

export async function startFakeBfe(conf: string): Promise<FakeBfe> {
  const loaded: Loaded = {routes: new Map(), clusters: new Set(), table: {}, gslb: {}, headers: new Map(), versions: {}}
  const readJson = async (file: string) => JSON.parse(await readFile(join(conf, file), 'utf8')) as Record<string, unknown>
  const reloaders: Record<string, () => Promise<void>> = {
    async server_data_conf() {
      const route = await readJson('server_data_conf/route_rule.data')
      const clusterConf = await readJson('server_data_conf/cluster_conf.data')
      const clusters = new Set(Object.keys((clusterConf.Config ?? {}) as object))
      const routes = new Map<string, Array<{cond: Cond; cluster: string}>>()
      for (const [product, rules] of Object.entries((route.ProductRule ?? {}) as Record<string, Array<{Cond: string; ClusterName: string}>>)) {
        routes.set(
          product,
          rules.map((r) => {
            if (!clusters.has(r.ClusterName)) throw new Error(`product[${product}] cluster[${r.ClusterName}] not exist`)
            return {cond: parseCond(r.Cond), cluster: r.ClusterName}
          }),
        )
      }
      Object.assign(loaded, {routes, clusters})
      loaded.versions.route_rule = route.Version as string
      loaded.versions.cluster_conf = clusterConf.Version as string
    },
    async gslb_data_conf() {
      const table = await readJson('cluster_conf/cluster_table.data')
      const gslb = await readJson('cluster_conf/gslb.data')
      const tableConfig = (table.Config ?? {}) as Loaded['table']
      const clusters = (gslb.Clusters ?? {}) as Loaded['gslb']
      for (const [cluster, subs] of Object.entries(clusters)) {
        let total = 0
        for (const [sub, weight] of Object.entries(subs)) {
          if (sub === 'GSLB_BLACKHOLE') continue
          if (!tableConfig[cluster]?.[sub]) throw new Error(`gslb: ${cluster}/${sub} not in cluster table`)
          total += weight
        }
        if (total + (subs.GSLB_BLACKHOLE ?? 0) !== 100) throw new Error(`gslb: weights of ${cluster} do not sum to 100`)
      }
      Object.assign(loaded, {table: tableConfig, gslb: clusters})
      loaded.versions.cluster_table = table.Version as string
      loaded.versions.gslb = gslb.Ts as string
      loaded.versions.gslbSrc = gslb.Hostname as string
    },
    async mod_header() {
      const rules = await readJson('mod_header/header_rule.data')
      const headers = new Map<string, Loaded['headers'] extends Map<string, infer V> ? V : never>()
      for (const [product, list] of Object.entries((rules.Config ?? {}) as Record<string, Array<{cond: string; actions: Array<{cmd: string; params: string[]}>; last: boolean}>>)) {
        headers.set(
          product,
          list.map((r) => {
            for (const a of r.actions) if (!['REQ_HEADER_SET', 'REQ_HEADER_ADD', 'REQ_HEADER_DEL'].includes(a.cmd)) throw new Error(`unknown cmd ${a.cmd}`)
            return {cond: parseCond(r.cond), actions: r.actions, last: r.last}
          }),
        )
      }
      loaded.headers = headers
      loaded.versions.header_rule = rules.Version as string
    },
  }
  const fake: FakeBfe = {
    monitor: '',
    reloads: [],
    rejectNext: null,
    route(product, req) {
      const rule = (loaded.routes.get(product) ?? []).find((r) => r.cond(req))
      if (!rule) throw new Error(`no route for product ${product}`)
      const subs = Object.entries(loaded.gslb[rule.cluster] ?? {}).filter(([k, w]) => k !== 'GSLB_BLACKHOLE' && w > 0)
      const backends = subs.length > 0 ? (loaded.table[rule.cluster]?.[(subs[0] as [string, number])[0]] ?? []) : []
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k] = v
      for (const h of loaded.headers.get(product) ?? []) {
        if (!h.cond(req)) continue
        for (const a of h.actions) {
          const name = Object.keys(headers).find((k) => k.toLowerCase() === (a.params[0] ?? '').toLowerCase()) ?? (a.params[0] as string)
          if (a.cmd === 'REQ_HEADER_DEL') delete headers[name]
          else headers[name] = a.params[1] as string
        }
        if (h.last) break
      }
      return {cluster: rule.cluster, backend: backends[0]?.Name ?? null, headers}
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string
    const reload = /^\/reload\/([a-z_.]+)$/.exec(path)?.[1]
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {'content-type': 'application/json'})
      res.end(JSON.stringify(body))
    }
    if (reload) {
      const fn = reloaders[reload]
      if (!fn) return send(404, {error: `no reload entry ${reload}`})
      fake.reloads.push(reload)
      if (fake.rejectNext === reload) {
        fake.rejectNext = null
        return send(500, {error: `${reload}: err in load conf: injected failure`})
      }
      fn().then(
        () => send(200, {error: null}),
        (error: Error) => send(500, {error: `${reload}: ${error.message}`}),
      )
      return
    }
    const v = loaded.versions
    if (path === '/monitor/host_table_version') return send(200, {HostTag: '', Vip: '', ProductRoute: v.route_rule ?? ''})
    if (path === '/monitor/cluster_table_version') return send(200, {ClusterConfVer: v.cluster_conf ?? ''})
    if (path === '/monitor/bal_table_version') return send(200, {ClusterTableConfVer: v.cluster_table ?? '', GslbConfTimeStamp: v.gslb ?? '', GslbConfSrc: v.gslbSrc ?? ''})
    send(404, {error: 'not found'})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.monitor = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

// ── the API server ──────────────────────────────────────────────────────────
// A FAKE of BFE's API server (bfenetworks/api-server), built from its open-api
// documents and handlers, not from a running one:
//   docs/zh_cn/open_api/norms.md        URLs /open-api/v1/..., every answer {ErrNum, ErrMsg, Data},
//                                       ErrNum 200 success, 401/402 auth, 422 param, 404 none, 555 exists, 510 not ready, 500 other
//   docs/zh_cn/open_api/01global/0106-auth.md  "Authorization: Token {token}" (or "Session {key}")
//   lib/xreq/result.go, lib/xerror/resolve.go  HTTP status = ErrNum for 4xx and 555, else 200/500;
//                                       ErrMsg is "<Type>: <message>", Data left out on failure
//   endpoints/middleware/user_probe.go  a header without "<type> <value>" is 422 "Bad Format Header Authorization"
//   docs/zh_cn/open_api/02product/0201-product_pools.md  instance-pools {name: "{product}.{pool}", instances: [{hostname, ip, weight, ports: {Default}}]}
//   docs/zh_cn/open_api/02product/0202-subclusters.md    sub-clusters {name, instance_pool, description} → + ready, cluster_name
//   docs/zh_cn/open_api/02product/0203-clusters.md, endpoints/openapi_v1/product_cluster/create.go
//                                       clusters {name, basic, sticky_sessions, sub_clusters, scheduler, passive_health_check};
//                                       PATCH .../clusters/{c}/sub-clusters {name, sub_clusters}
//   docs/zh_cn/open_api/02product/0204-traffic.md        GET/PATCH .../clusters/{c}/scheduler
//                                       {bfe_cluster: {sub_cluster: 0-100, GSLB_BLACKHOLE}}, each summing to 100
//   docs/zh_cn/open_api/product/forward_rule.md, endpoints/openapi_v1/route/upsert.go
//                                       GET/PATCH /products/{p}/routes {basic_forward_rules, forward_rules: [{name, description,
//                                       expression, cluster_name}]}; the last advanced rule must be default_t(); a rule's
//                                       cluster must exist; expressions in BFE's condition language (parsed as above)
// route() then routes as BFE would once conf-agent exported it: advanced rules
// in order, the cluster's scheduler for one BFE cluster, the sub-cluster's pool.

export interface ApiAnswer {
  ErrNum: number
  ErrMsg: string
  Data?: unknown
}

interface ApiCluster {
  name: string
  description: string
  sub_clusters: string[]
  scheduler: Record<string, Record<string, number>>
  [key: string]: unknown
}

export interface FakeBfeApi {
  url: string
  token: string
  product: string
  pools: Map<string, {name: string; instances: Array<{hostname: string; ip: string; weight: number; ports: Record<string, number>}>}>
  subClusters: Map<string, {name: string; instance_pool: string; description: string; ready: boolean; cluster_name: string}>
  clusters: Map<string, ApiCluster>
  routes: {basic_forward_rules: unknown[]; forward_rules: Array<{name: string; description: string; expression: string; cluster_name: string}>}
  /** every request: method and path below /open-api/v1 */
  calls: string[]
  /** answer the next request whose "METHOD path" matches with this (once) */
  failNext: {match: RegExp; answer: ApiAnswer} | null
  /** another writer: runs after every PATCH of the routes */
  afterRoutes: ((routes: FakeBfeApi['routes']) => void) | null
  route(req: BfeRequest, bfeCluster?: string): {cluster: string; subCluster: string; backend: string | null}
  close(): Promise<void>
}

const TYPE: Record<number, string> = {401: 'Authenticate Fail', 402: 'Authorizate Fail', 404: 'Record Not Exist', 422: 'Param Illegal', 500: 'Biz Exception', 510: 'Dependent Not Ready', 555: 'Record Existed'}

class ApiFailure extends Error {
  constructor(
    readonly errNum: number,
    message: string,
  ) {
    super(`${TYPE[errNum] ?? 'Unknown Exception'}: ${message}`)
  }
}

export async function startFakeBfeApi(options: {token?: string; product?: string} = {}): Promise<FakeBfeApi> {
  const token = options.token ?? 'bfe-token-Kq27Xw9'
  const product = options.product ?? 'shop'
  const fake: FakeBfeApi = {
    url: '',
    token,
    product,
    pools: new Map(),
    subClusters: new Map(),
    clusters: new Map(),
    routes: {basic_forward_rules: [], forward_rules: []},
    calls: [],
    failNext: null,
    afterRoutes: null,
    route(req, bfeCluster) {
      const rule = fake.routes.forward_rules.find((r) => condOf(r.expression)(req))
      if (!rule) throw new Error('no forward rule matches')
      const cluster = fake.clusters.get(rule.cluster_name) as ApiCluster
      const weights = cluster.scheduler[bfeCluster ?? (Object.keys(cluster.scheduler)[0] as string)] ?? {}
      const sub = Object.entries(weights).find(([name, w]) => name !== 'GSLB_BLACKHOLE' && w > 0)?.[0]
      if (!sub) return {cluster: cluster.name, subCluster: 'GSLB_BLACKHOLE', backend: null}
      const pool = fake.pools.get((fake.subClusters.get(sub) as {instance_pool: string}).instance_pool)
      return {cluster: cluster.name, subCluster: sub, backend: pool?.instances[0]?.hostname ?? null}
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }

  const parsed = new Map<string, Cond>()
  const condOf = (expression: string): Cond => {
    let cond = parsed.get(expression)
    if (!cond) parsed.set(expression, (cond = parseCond(expression)))
    return cond
  }
  const need = (ok: unknown, message: string) => {
    if (!ok) throw new ApiFailure(422, message)
  }
  const handle = (method: string, path: string, body: Record<string, unknown>): unknown => {
    const base = `/products/${product}`
    if (!path.startsWith('/products/')) throw new ApiFailure(404, 'no such endpoint')
    if (!path.startsWith(base) || (path.length > base.length && path[base.length] !== '/')) throw new ApiFailure(402, 'Product Not Authorized')
    const rest = path.slice(base.length)
    let m: RegExpExecArray | null
    if (rest === '' && method === 'GET') return {name: product, description: '', mail_list: [], phone_list: [], contact_person_list: []}
    if (rest === '/instance-pools' && method === 'POST') {
      const name = body.name as string
      need(typeof name === 'string' && name.startsWith(`${product}.`), 'instance pool name must be {product}.{name}')
      need(Array.isArray(body.instances), 'Instances Want Be Set')
      if (fake.pools.has(name)) throw new ApiFailure(555, 'Instance Pool Record Existed')
      fake.pools.set(name, {name, instances: body.instances as never})
      return fake.pools.get(name)
    }
    if ((m = /^\/instance-pools\/([^/]+)$/.exec(rest))) {
      const name = decodeURIComponent(m[1] as string)
      const pool = fake.pools.get(name)
      if (!pool) throw new ApiFailure(404, 'Instance Pool Record Not Exist')
      if (method === 'GET') return pool
      if (method === 'PATCH') {
        need(Array.isArray(body.instances), 'Instances Want Be Set')
        pool.instances = body.instances as never
        return pool
      }
    }
    if (rest === '/sub-clusters' && method === 'POST') {
      const name = body.name as string
      need(typeof name === 'string' && name.length > 0, 'Name Want Be Set')
      if (!fake.pools.has(body.instance_pool as string)) throw new ApiFailure(404, 'Instance Pool Record Not Exist')
      if (fake.subClusters.has(name)) throw new ApiFailure(555, 'SubCluster Record Existed')
      fake.subClusters.set(name, {name, instance_pool: body.instance_pool as string, description: String(body.description ?? ''), ready: true, cluster_name: ''})
      return fake.subClusters.get(name)
    }
    if ((m = /^\/sub-clusters\/([^/]+)$/.exec(rest)) && method === 'GET') {
      const sub = fake.subClusters.get(decodeURIComponent(m[1] as string))
      if (!sub) throw new ApiFailure(404, 'SubCluster Record Not Exist')
      return sub
    }
    const checkScheduler = (scheduler: unknown, subs: string[]) => {
      need(typeof scheduler === 'object' && scheduler !== null && Object.keys(scheduler).length > 0, 'Scheduler Want Be Set')
      for (const [bfe, weights] of Object.entries(scheduler as Record<string, Record<string, number>>)) {
        let total = 0
        for (const [sub, w] of Object.entries(weights)) {
          need(sub === 'GSLB_BLACKHOLE' || subs.includes(sub), `scheduler of ${bfe}: ${sub} is not a sub-cluster of the cluster`)
          need(Number.isInteger(w) && w >= 0 && w <= 100, `scheduler of ${bfe}: weight of ${sub} must be 0-100`)
          total += w
        }
        need(total === 100, `scheduler of ${bfe}: weights must sum to 100`)
      }
    }
    if (rest === '/clusters' && method === 'POST') {
      const name = body.name as string
      need(typeof name === 'string' && name.length > 0, 'Name Want Be Set')
      need(Array.isArray(body.sub_clusters) && body.sub_clusters.length > 0, 'SubClusters Want Be Set')
      need(body.basic, 'Basic Want Be Set')
      need(body.passive_health_check, 'PassiveHealthCheck Want Be Set')
      need(body.sticky_sessions, 'StickySessions Want Be Set')
      const subs = body.sub_clusters as string[]
      for (const s of subs) {
        const sub = fake.subClusters.get(s)
        if (!sub) throw new ApiFailure(404, `SubCluster ${s} Record Not Exist`)
        need(sub.cluster_name === '', `SubCluster ${s} is mounted on cluster ${sub.cluster_name}`)
      }
      checkScheduler(body.scheduler, subs)
      if (fake.clusters.has(name)) throw new ApiFailure(555, 'Cluster Record Existed')
      for (const s of subs) (fake.subClusters.get(s) as {cluster_name: string}).cluster_name = name
      fake.clusters.set(name, {...body, name, description: String(body.description ?? ''), sub_clusters: subs, scheduler: body.scheduler as ApiCluster['scheduler']})
      return fake.clusters.get(name)
    }
    if ((m = /^\/clusters\/([^/]+)(\/sub-clusters|\/scheduler)?$/.exec(rest))) {
      const cluster = fake.clusters.get(decodeURIComponent(m[1] as string))
      if (!cluster) throw new ApiFailure(404, 'Cluster Record Not Exist')
      if (!m[2] && method === 'GET') return cluster
      if (m[2] === '/sub-clusters' && method === 'PATCH') {
        const subs = body.sub_clusters as string[]
        need(Array.isArray(subs), 'SubClusters Want Be Set')
        for (const s of subs) if (!fake.subClusters.has(s)) throw new ApiFailure(404, `SubCluster ${s} Record Not Exist`)
        for (const s of subs) if (!cluster.sub_clusters.includes(s)) for (const w of Object.values(cluster.scheduler)) w[s] = 0
        cluster.sub_clusters = subs
        return cluster
      }
      if (m[2] === '/scheduler' && method === 'GET') return {cluster: cluster.name, scheduler: cluster.scheduler}
      if (m[2] === '/scheduler' && method === 'PATCH') {
        checkScheduler(body, cluster.sub_clusters)
        cluster.scheduler = body as ApiCluster['scheduler']
        return {cluster: cluster.name, scheduler: cluster.scheduler}
      }
    }
    if (rest === '/routes' && method === 'GET') return fake.routes
    if (rest === '/routes' && method === 'PATCH') {
      const rules = (body.forward_rules ?? []) as FakeBfeApi['routes']['forward_rules']
      need(Array.isArray(rules), 'forward_rules must be a list')
      for (const r of rules) {
        need(typeof r.expression === 'string' && r.expression.length > 0 && typeof r.cluster_name === 'string', 'expression and cluster_name Want Be Set')
        try {
          parseCond(r.expression)
        } catch (error) {
          throw new ApiFailure(422, `expression ${r.expression}: ${(error as Error).message}`)
        }
        if (!fake.clusters.has(r.cluster_name)) throw new ApiFailure(404, `Cluster ${r.cluster_name} Record Not Exist`)
      }
      if (rules.length > 0) need((rules.at(-1) as {expression: string}).expression === 'default_t()', 'the last forward rule must be default_t()')
      fake.routes = {basic_forward_rules: (body.basic_forward_rules ?? []) as unknown[], forward_rules: rules}
      const answer = structuredClone(fake.routes)
      fake.afterRoutes?.(fake.routes)
      return answer
    }
    throw new ApiFailure(404, 'no such endpoint')
  }

  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const send = (answer: ApiAnswer) => {
        const status = answer.ErrNum === 200 ? 200 : (answer.ErrNum >= 400 && answer.ErrNum < 500) || answer.ErrNum === 555 ? answer.ErrNum : 500
        res.writeHead(status, {'content-type': 'application/json'})
        res.end(JSON.stringify(answer))
      }
      const url = new URL(req.url ?? '/', 'http://x')
      if (!url.pathname.startsWith('/open-api/v1/')) return send({ErrNum: 404, ErrMsg: 'Record Not Exist: 404 page not found'})
      const path = url.pathname.slice('/open-api/v1'.length)
      const method = req.method ?? 'GET'
      fake.calls.push(`${method} ${path}`)
      const auth = req.headers.authorization
      if (auth === undefined) return send({ErrNum: 402, ErrMsg: 'Authorizate Fail: Visitor Not Found'})
      const [kind, value] = auth.split(/ (.*)/s)
      if (value === undefined) return send({ErrNum: 422, ErrMsg: 'Param Illegal: Bad Format Header Authorization'})
      if (kind !== 'Token' || value !== token) return send({ErrNum: 401, ErrMsg: 'Authenticate Fail: Token Not Exist'})
      if (fake.failNext && fake.failNext.match.test(`${method} ${path}`)) {
        const answer = fake.failNext.answer
        fake.failNext = null
        return send(answer)
      }
      try {
        const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
        send({ErrNum: 200, ErrMsg: 'success', Data: handle(method, path, body)})
      } catch (error) {
        if (error instanceof ApiFailure) return send({ErrNum: error.errNum, ErrMsg: error.message})
        send({ErrNum: 422, ErrMsg: `Param Illegal: ${(error as Error).message}`})
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}
