// Three services in a chain, edge → api → data, each behind its own real nginx with gray's
// include (the NginxGateway publishes to it), each with a stable (v1) and a gray (v2) sample
// upstream in this process. edge and api call the next hop's nginx, forwarding only the tag
// header they received, and every answer is the whole path the request took:
//   {"hops": [{"service": "edge", "version": "v2", "tag": "…"}, {"service": "api", …}, {"service": "data", …}]}
// docs/tag-chain.md describes the same setup for real services.
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

/** One service of the chain: its nginx, the gateway gray publishes through, its v1 and v2 hosts. */
export interface ChainHop {
  service: ChainService
  nginx: NginxInstance
  gateway: NginxGateway
  /** the nginx variable the server block proxies to */
  variable: string
  /** stable hosts (v1), gray hosts (v2) and the sticky key, as a release's downstream sees them */
  route: DownstreamRoute
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
      const pools: Record<'v1' | 'v2', Host[]> = {v1: [], v2: []}
      for (const version of ['v1', 'v2'] as const) {
        const agent = new Agent({keepAlive: true, maxSockets: 32})
        agents.push(agent)
        const sample = await sampleServer({service, version, tagHeader: options.tag.header, next, agent})
        samples.push(sample)
        pools[version].push(sample.host)
      }
      const variable = `gray_${service}_upstream`
      const route: DownstreamRoute = {service, stable: pools.v1, gray: pools.v2, sticky}
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
      hops[service] = {service, nginx, gateway: gatewayFor(nginx.includePath, nginx), variable, route}
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

interface SampleServer {
  host: Host
  close(): Promise<void>
}

interface SampleOptions {
  service: string
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
  const server: Server = createServer((req, res) => {
    const tag = headerValue(req.headers, header)
    const self: Hop = {service: options.service, version: options.version, tag}
    const answer = (status: number, body: PathAnswer | {hops: Hop[]; error?: string}) => {
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(body))
    }
    // the request body is not read: a GET has none, and what a client sends is drained unread
    req.resume()
    if (!options.next) return answer(200, {hops: [self]})
    // only the tag header goes on: not the cookie, not anything else the client sent
    const forward = tag === null ? {} : {[options.tagHeader]: tag}
    getJson(`${options.next}/`, forward, options.agent, HOP_TIMEOUT_MS).then(
      (downstream) => {
        const rest = pathOf(downstream)
        if (rest.error) return answer(502, {hops: [self, ...rest.hops], error: `${options.service} ${options.version}: ${rest.error}`})
        answer(200, {hops: [self, ...rest.hops]})
      },
      (error: Error) => answer(502, {hops: [self], error: `${options.service} ${options.version} could not call the next hop: ${error.message}`}),
    )
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    host: {name: `${options.service}-${options.version}`, address: `127.0.0.1:${port}`},
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
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
