// An in-process FAKE of the APISIX Admin API, for tests: APISIX cannot run on
// this machine. It is built from the Admin API documentation's request and
// response shapes (apisix.apache.org/docs/apisix/admin-api, APISIX 3.x):
//   GET /apisix/admin/routes/{id}  → 200 {"key": "/apisix/routes/{id}", "value": {...},
//                                         "createdIndex": n, "modifiedIndex": n}
//                                  → 404 {"message": "Key not found"}
//   PUT /apisix/admin/routes/{id}  → 201 created / 200 updated {"key": ..., "value": {...}}
//                                  → 400 {"error_msg": "..."} for an invalid route
//   a missing or wrong X-API-KEY   → 401 {"error_msg": "failed to check token"}
// modifiedIndex is the store's revision at the last write, as etcd gives it.
// It also evaluates the traffic-split plugin (docs/plugins/traffic-split: rules
// in order, first match wins; match entries OR'ed, vars inside one AND'ed;
// lua-resty-expr operators ==, in, ~~, ipmatch; weighted_upstreams without
// `upstream` mean the route's own upstream) so tests can check routing.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {ipInAny} from '../../src/core/policy/decide.js'

export interface FakeRequest {
  headers?: Record<string, string>
  cookies?: Record<string, string>
  query?: Record<string, string>
  ip?: string
}

interface Stored {
  value: Record<string, unknown>
  createdIndex: number
  modifiedIndex: number
}

export interface FakeApisix {
  url: string
  key: string
  requests: {method: string; path: string}[]
  /** answer the next requests with these statuses first */
  failNext: number[]
  /** called after each GET of a route is answered (e.g. to write concurrently) */
  afterGet?: (id: string) => void
  setRoute(id: string, value: Record<string, unknown>): void
  route(id: string): Record<string, unknown> | undefined
  /** which upstream nodes a request would reach: "gray"/"stable" by the node address given, or "route" */
  routeRequest(id: string, req: FakeRequest, random?: () => number): string
  close(): Promise<void>
}

export async function startFakeApisix(options: {key?: string; cohorts?: Record<string, string>} = {}): Promise<FakeApisix> {
  const key = options.key ?? 'edd1c9f034335f136f87ad84b625c8f1'
  const routes = new Map<string, Stored>()
  let revision = 100

  const fake: FakeApisix = {
    url: '',
    key,
    requests: [],
    failNext: [],
    setRoute(id, value) {
      const now = Math.floor(Date.now() / 1000)
      const existing = routes.get(id)
      revision++
      routes.set(id, {
        value: {...structuredClone(value), id, create_time: existing?.value.create_time ?? now, update_time: now},
        createdIndex: existing?.createdIndex ?? revision,
        modifiedIndex: revision,
      })
    },
    route: (id) => structuredClone(routes.get(id)?.value),
    routeRequest: (id, req, random = Math.random) => routeRequest(routes.get(id)?.value, req, random, options.cohorts ?? {}),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }

  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0] as string
    fake.requests.push({method: req.method ?? '', path})
    const failure = fake.failNext.shift()
    if (failure) return send(res, failure, {error_msg: `scripted ${failure}`})
    if (req.headers['x-api-key'] !== key) return send(res, 401, {error_msg: 'failed to check token'})
    const match = /^\/apisix\/admin\/routes\/([^/]+)$/.exec(path)
    if (!match) return send(res, 404, {error_msg: '404 Route Not Found'})
    const id = decodeURIComponent(match[1] as string)
    if (req.method === 'GET') {
      const stored = routes.get(id)
      if (!stored) return send(res, 404, {message: 'Key not found'})
      send(res, 200, {key: `/apisix/routes/${id}`, value: stored.value, createdIndex: stored.createdIndex, modifiedIndex: stored.modifiedIndex})
      fake.afterGet?.(id)
      return
    }
    if (req.method === 'PUT') {
      const body = await readJson(req)
      const problem = routeProblem(id, body)
      if (problem) return send(res, 400, {error_msg: problem})
      const existed = routes.has(id)
      fake.setRoute(id, body as Record<string, unknown>)
      return send(res, existed ? 200 : 201, {key: `/apisix/routes/${id}`, value: routes.get(id)?.value})
    }
    send(res, 405, {error_msg: 'not supported by the fake'})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return undefined
  }
}

/** The checks the documented schema makes that matter here; a message like APISIX's, or null. */
function routeProblem(id: string, body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'invalid request body'
  const route = body as Record<string, unknown>
  if (route.id !== undefined && String(route.id) !== id) return 'wrong route id'
  if (route.uri === undefined && route.uris === undefined) return 'invalid configuration: value should match only one schema, but matches none'
  const labels = (route.labels ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value !== 'string' || !/^\S+$/.test(value) || value.length > 256) return `invalid configuration: property "labels" validation failed: ${name}`
  }
  const split = (route.plugins as Record<string, unknown> | undefined)?.['traffic-split'] as {rules?: unknown} | undefined
  if (split === undefined) return null
  if (!Array.isArray(split.rules)) return 'failed to check the configuration of plugin traffic-split err: property "rules" is required'
  for (const rule of split.rules as {match?: unknown; weighted_upstreams?: unknown}[]) {
    if (rule.match !== undefined && (!Array.isArray(rule.match) || rule.match.some((m: {vars?: unknown}) => !Array.isArray(m.vars)))) {
      return 'failed to check the configuration of plugin traffic-split err: property "match" validation failed'
    }
    const ups = rule.weighted_upstreams
    if (!Array.isArray(ups) || ups.length === 0) return 'failed to check the configuration of plugin traffic-split err: property "weighted_upstreams" validation failed'
    for (const up of ups as {weight?: unknown; upstream?: {nodes?: unknown}}[]) {
      if (!Number.isInteger(up.weight) || (up.weight as number) < 0) return 'failed to check the configuration of plugin traffic-split err: property "weight" validation failed'
      if (up.upstream && (typeof up.upstream.nodes !== 'object' || Object.keys(up.upstream.nodes ?? {}).length === 0)) {
        return 'failed to check the configuration of plugin traffic-split err: property "nodes" validation failed'
      }
    }
  }
  return null
}

function variable(name: string, req: FakeRequest): string | undefined {
  if (name === 'remote_addr') return req.ip ?? '127.0.0.1'
  if (name.startsWith('http_')) {
    const header = name.slice(5).replaceAll('_', '-')
    const found = Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === header)
    return found?.[1]
  }
  if (name.startsWith('cookie_')) return req.cookies?.[name.slice(7)]
  if (name.startsWith('arg_')) return req.query?.[name.slice(4)]
  return undefined
}

function holds(expression: unknown[], req: FakeRequest): boolean {
  const [name, operator, value] = expression as [string, string, unknown]
  const actual = variable(name, req)
  if (actual === undefined) return false
  switch (operator) {
    case '==':
      return actual === value
    case 'in':
      return (value as string[]).includes(actual)
    case '~~':
      return pcreToJs(value as string).test(actual)
    case 'ipmatch':
      return ipInAny(actual, value as string[])
    default:
      throw new Error(`the fake does not evaluate operator ${operator}`)
  }
}

/** gray's patterns use \xHH byte escapes; JS reads them as code points, the same for ASCII */
function pcreToJs(pattern: string): RegExp {
  return new RegExp(pattern)
}

function routeRequest(route: Record<string, unknown> | undefined, req: FakeRequest, random: () => number, cohorts: Record<string, string>): string {
  const split = (route?.plugins as Record<string, {rules: {match?: {vars: unknown[][]}[]; weighted_upstreams: {upstream?: {nodes: Record<string, number>}; weight: number}[]}[]}> | undefined)?.[
    'traffic-split'
  ]
  for (const rule of split?.rules ?? []) {
    const matched = !rule.match || rule.match.length === 0 || rule.match.some((m) => m.vars.every((e) => holds(e, req)))
    if (!matched) continue
    const total = rule.weighted_upstreams.reduce((sum, u) => sum + u.weight, 0)
    let pick = random() * total
    for (const up of rule.weighted_upstreams) {
      pick -= up.weight
      if (pick < 0 || up === rule.weighted_upstreams.at(-1)) {
        if (!up.upstream) return 'route'
        const node = Object.keys(up.upstream.nodes)[0] as string
        return cohorts[node] ?? node
      }
    }
  }
  return 'route'
}
