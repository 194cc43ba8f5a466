// Three services in a chain, edge → api → data, each behind its own real nginx with gray's
// include (the NginxGateway publishes to it), each with a stable (v1) and a gray (v2) sample
// upstream in this process. edge and api call the next hop's nginx, forwarding only the tag
// header they received, and every answer is the whole path the request took:
//   {"hops": [{"service": "edge", "version": "v2", "tag": "…"}, {"service": "api", …}, {"service": "data", …}]}
// Each sample also speaks the demo services' protocol (templates/demo/service.mjs), so a release
// driver can deploy and gate them: GET /healthz answers its version, GET /metrics counts answers as
// http_requests_total{service,version,code}, POST /admin/deploy?version=V switches its version
// (templates/demo/deploy.mjs is the deploy command). docs/tag-chain.md describes the same setup.
import {Agent, createServer, request, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {NginxGateway} from '../../src/adapters/gateways/nginx/index.js'
import type {Host, StickyKey, Tag} from '../../src/core/config/model.js'
import type {Policy} from '../../src/core/ports.js'
import {plainRoutePolicy, type DownstreamRoute} from '../../src/core/release/tag-route.js'
import {startNginx, type NginxInstance} from './nginx.js'

export const CHAIN = ['edge', 'api', 'data'] as const
export type ChainService = (typeof CHAIN)[number]

/** what one sample upstream says of itself: its service, its version and the tag header it received */
export interface Hop {
  service: string
  version: string
  tag: string | null
}

export interface PathAnswer {
  status: number
  hops: Hop[]
  /** set when a hop could not call the next one, or the answer was not a path */
  error?: string
}

/** A sample upstream's controls, for tests that inject a failure or look at its version. */
export interface Sample {
  host: Host
  version(): string
  /** while on, every request it serves answers 500 (its /healthz stays 200): a broken release */
  fail(on: boolean): void
}

/** One service of the chain: its nginx, the gateway gray publishes through, its v1 and v2 hosts. */
export interface ChainHop {
  service: ChainService
  nginx: NginxInstance
  gateway: NginxGateway
  /** the nginx variable the server block proxies to */
  variable: string
  /** stable hosts (v1), gray hosts (v2) and the sticky key, as a release's downstream sees them */
  route: DownstreamRoute
  /** the sample upstreams behind route.stable[0] and route.gray[0] */
  samples: {stable: Sample; gray: Sample}
}

export interface Chain {
  tag: Tag
  hops: Record<ChainService, ChainHop>
  /** one request through `service`'s nginx (the edge: the whole chain) */
  get(service: ChainService, headers?: Record<string, string>): Promise<PathAnswer>
  /** runs `count` requests, `concurrency` at a time, results in order */
  many<T>(count: number, one: (i: number) => Promise<T>, concurrency?: number): Promise<T[]>
  /** stops every nginx and every sample upstream; safe to call twice */
  stop(): Promise<void>
}

export interface ChainOptions {
  tag: Tag
  sticky?: StickyKey
  /** nginx worker processes per hop */
  workers?: number
  /** the versions the stable and gray samples start on: v1 and v2 (a driver test starts both on v1 and deploys) */
  versions?: {stable: string; gray: string}
}

/** a hop's call to the next one; the machine is loaded, so generous, but bounded */
export const HOP_TIMEOUT_MS = 20_000
/** the test client's whole request: every hop's timeout fits inside it */
export const CLIENT_TIMEOUT_MS = 60_000
/** a path answer is a few hundred bytes; anything beyond this is refused */
export const MAX_ANSWER_BYTES = 64 * 1024

/** The server block each hop's nginx has around gray's include: the one docs/gateways.md shows. */
export function hopServer(variable: string, tag: Tag): (port: number) => string {
  return (port) => `    server {
        listen 127.0.0.1:${port};
        keepalive_requests 100000;
        location / {
            proxy_pass http://$${variable};
            proxy_set_header ${tag.header} $${variable}_tag;
            add_header X-Gray-Revision $${variable}_revision always;
        }
    }`
}

export async function startChain(options: ChainOptions): Promise<Chain> {
  const sticky = options.sticky ?? {kind: 'cookie', name: 'uid'}
  const versions = options.versions ?? {stable: 'v1', gray: 'v2'}
  const samples: SampleServer[] = []
  const nginxes: NginxInstance[] = []
  const agents: Agent[] = []
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    for (const agent of agents) agent.destroy()
    await Promise.all(nginxes.map((n) => n.stop()))
    await Promise.all(samples.map((s) => s.close()))
  }

  try {
    const hops = {} as Record<ChainService, ChainHop>
    // the last hop first: each sample upstream needs the address of the next hop's nginx
    let next: string | null = null
    for (const service of [...CHAIN].reverse()) {
      const pair = {} as {stable: SampleServer; gray: SampleServer}
      for (const pool of ['stable', 'gray'] as const) {
        const agent = new Agent({keepAlive: true, maxSockets: 32})
        agents.push(agent)
        const sample = await sampleServer({service, name: `${service}-${pool}`, version: versions[pool], tagHeader: options.tag.header, next, agent})
        samples.push(sample)
        pair[pool] = sample
      }
      const variable = `gray_${service}_upstream`
      const route: DownstreamRoute = {service, stable: [pair.stable.host], gray: [pair.gray.host], sticky}
      const initial = plainRoutePolicy(route, {runId: 'chain-start', lastSeq: 0})
      const gatewayFor = (include: string, instance?: NginxInstance) =>
        new NginxGateway({type: 'nginx', include, variable, test: instance?.testArgv ?? ['true'], reload: instance?.reloadArgv ?? ['true']}, service)
      const nginx = await startNginx({
        includeName: `${service}.conf`,
        include: (path) => gatewayFor(path).render(initial),
        servers: hopServer(variable, options.tag),
        workers: options.workers,
      })
      nginxes.push(nginx)
      hops[service] = {service, nginx, gateway: gatewayFor(nginx.includePath, nginx), variable, route, samples: pair}
      next = nginx.baseUrl
    }

    const clientAgent = new Agent({keepAlive: true, maxSockets: 64})
    agents.push(clientAgent)
    return {
      tag: options.tag,
      hops,
      get: async (service, headers = {}) => {
        const answer = await getJson(`${hops[service].nginx.baseUrl}/`, headers, clientAgent, CLIENT_TIMEOUT_MS)
        return pathOf(answer)
      },
      many,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The whole path is one version: 'v1', 'v2', or null when it is mixed, short or failed. */
export function pathVersion(answer: PathAnswer, length = CHAIN.length): string | null {
  if (answer.status !== 200 || answer.error || answer.hops.length !== length) return null
  const versions = new Set(answer.hops.map((h) => h.version))
  return versions.size === 1 ? ([...versions][0] as string) : null
}

export async function many<T>(count: number, one: (i: number) => Promise<T>, concurrency = 16): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(concurrency, count)}, async () => {
      while (next < count) {
        const i = next++
        results[i] = await one(i)
      }
    }),
  )
  return results
}

interface SampleServer extends Sample {
  close(): Promise<void>
}

interface SampleOptions {
  service: string
  name: string
  /** the version it starts on */
  version: string
  tagHeader: string
  /** the next hop's nginx, or null for the last hop */
  next: string | null
  /** keep-alive connections to the next hop */
  agent: Agent
}

/** A sample service: answers its own hop, after the rest of the path when there is a next hop. */
async function sampleServer(options: SampleOptions): Promise<SampleServer> {
  const header = options.tagHeader.toLowerCase()
  let version = options.version
  let failing = false
  const counters = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sample')
    const send = (status: number, text: string, type = 'application/json') => {
      res.writeHead(status, {'content-type': type, 'content-length': Buffer.byteLength(text)})
      res.end(text)
    }
    // the request body is not read: a GET has none, and what a client sends is drained unread
    req.resume()
    if (url.pathname === '/healthz') return send(200, JSON.stringify({version}))
    if (url.pathname === '/metrics') return send(200, exposition(options.service, counters), 'text/plain; version=0.0.4')
    if (url.pathname === '/admin/deploy' && req.method === 'POST') {
      const next = url.searchParams.get('version')
      if (!next) return send(400, JSON.stringify({error: 'version is required: POST /admin/deploy?version=V'}))
      const from = version
      version = next
      return send(202, JSON.stringify({deploying: next, from}))
    }

    const tag = headerValue(req.headers, header)
    const self: Hop = {service: options.service, version, tag}
    const answer = (status: number, body: PathAnswer | {hops: Hop[]; error?: string}) => {
      const key = `${self.version}\u0000${status}`
      counters.set(key, (counters.get(key) ?? 0) + 1)
      send(status, JSON.stringify(body))
    }
    if (failing) return answer(500, {hops: [self], error: `${options.service} ${self.version}: injected failure`})
    if (!options.next) return answer(200, {hops: [self]})
    // only the tag header goes on: not the cookie, not anything else the client sent
    const forward = tag === null ? {} : {[options.tagHeader]: tag}
    getJson(`${options.next}/`, forward, options.agent, HOP_TIMEOUT_MS).then(
      (downstream) => {
        const rest = pathOf(downstream)
        if (rest.error) return answer(502, {hops: [self, ...rest.hops], error: `${options.service} ${self.version}: ${rest.error}`})
        answer(200, {hops: [self, ...rest.hops]})
      },
      (error: Error) => answer(502, {hops: [self], error: `${options.service} ${self.version} could not call the next hop: ${error.message}`}),
    )
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    host: {name: options.name, address: `127.0.0.1:${port}`},
    version: () => version,
    fail: (on) => {
      failing = on
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** http_requests_total by version and code, as templates/demo/service.mjs writes it for the scrape source */
function exposition(service: string, counters: Map<string, number>): string {
  const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
  const lines = ['# HELP http_requests_total Requests served, by version and status code.', '# TYPE http_requests_total counter']
  for (const [key, value] of counters) {
    const [version, code] = key.split('\u0000') as [string, string]
    lines.push(`http_requests_total{service="${label(service)}",version="${label(version)}",code="${code}"} ${value}`)
  }
  return `${lines.join('\n')}\n`
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name]
  return typeof value === 'string' ? value : null
}

interface JsonAnswer {
  status: number
  body: unknown
}

/**
 * A GET with a deadline and a cap on the answer's size. One whose keep-alive connection was
 * closed before any byte of an answer came (an nginx worker leaving after a reload closes its idle
 * connections) is sent again on a new connection, at most twice, as RFC 9112 §9.3.1 allows.
 */
async function getJson(url: string, headers: Record<string, string>, agent: Agent, timeoutMs: number): Promise<JsonAnswer> {
  const signal = AbortSignal.timeout(timeoutMs)
  for (let attempt = 0; ; attempt++) {
    try {
      return await getOnce(url, headers, attempt > 0 ? false : agent, signal)
    } catch (error) {
      if (!(error as {unanswered?: boolean}).unanswered || attempt >= 2 || signal.aborted) throw error
    }
  }
}

function getOnce(url: string, headers: Record<string, string>, agent: Agent | false, signal: AbortSignal): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = request(url, {agent, headers, signal}, (res) => {
      answered = true
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ANSWER_BYTES) {
          req.destroy(new Error(`the answer from ${url} is over ${MAX_ANSWER_BYTES} bytes`))
          return
        }
        chunks.push(chunk)
      })
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = text.slice(0, 200)
        }
        resolve({status: res.statusCode ?? 0, body})
      })
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      const unanswered = !answered && (error.code === 'ECONNRESET' || error.message === 'socket hang up')
      reject(Object.assign(error, {unanswered}))
    })
    req.end()
  })
}

function pathOf(answer: JsonAnswer): PathAnswer {
  const body = answer.body as {hops?: unknown; error?: unknown} | null
  const hops = Array.isArray(body?.hops) ? (body.hops as Hop[]) : []
  const error = typeof body?.error === 'string' ? body.error : Array.isArray(body?.hops) ? undefined : `not a path: ${JSON.stringify(answer.body).slice(0, 200)}`
  return {status: answer.status, hops, ...(error ? {error} : {})}
}

/** The entry's split: what a run publishes at a step (src/core/run/policy.ts splitPolicy), for the edge. */
export function entryPolicy(hop: ChainHop, tag: Tag, over: Pick<Policy, 'revision' | 'weightBp'> & Partial<Policy>): Policy {
  return {
    service: hop.service,
    mode: 'split',
    sticky: hop.route.sticky,
    rules: [],
    tag,
    stable: hop.route.stable,
    gray: hop.route.gray,
    ...over,
  }
}
