// Upstreams that answer with their cohort, a keep-alive client, the nginx
// server block gray's docs tell users to write, and steady load from a second
// process (load-worker.mjs) for the load tests of nginx and HAProxy.
import {fork, type ChildProcess} from 'node:child_process'
import {Agent, createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {fileURLToPath} from 'node:url'
import type {Host, Rule} from '../../../src/core/config/model.js'
import type {Policy} from '../../../src/core/ports.js'

export const SERVICE = 'checkout'
export const VARIABLE = 'gray_checkout_upstream'
export const TAG = {header: 'X-Gray-Tag', value: 'gray'}

export interface CohortServer {
  host: Host
  close(): Promise<void>
}

/** Answers {"cohort": ..., "tag": <X-Gray-Tag or null>}. */
export async function cohortServer(cohort: string, name: string): Promise<CohortServer> {
  const server: Server = createServer((req, res) => {
    const tag = req.headers['x-gray-tag']
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({cohort, host: name, tag: typeof tag === 'string' ? tag : null}))
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    host: {name, address: `127.0.0.1:${port}`},
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Answer {
  status: number
  cohort: string
  tag: string | null
}

/**
 * A keep-alive client. A GET whose connection was closed before any byte of
 * an answer is sent again on a new connection, at most twice (RFC 9112 §9.3.1
 * allows it for idempotent requests): an nginx worker leaving after a reload
 * closes the connections it holds without a request in progress.
 */
export class Client {
  readonly agent = new Agent({keepAlive: true, maxSockets: 32})
  /** requests sent again after their connection closed before any answer */
  resent = 0
  constructor(private readonly baseUrl: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(path, headers, attempt > 0)
      } catch (error) {
        if (!(error as {unanswered?: boolean}).unanswered || attempt >= 2) throw error
        this.resent++
      }
    }
  }

  private once(path: string, headers: Record<string, string>, fresh = false): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.baseUrl}${path}`, {agent: fresh ? false : this.agent, headers}, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          try {
            const data = JSON.parse(body) as {cohort: string; tag: string | null}
            resolve({status: res.statusCode ?? 0, cohort: data.cohort, tag: data.tag})
          } catch {
            resolve({status: res.statusCode ?? 0, cohort: '?', tag: null})
          }
        })
      })
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(Object.assign(error, {unanswered: error.code === 'ECONNRESET' || error.message === 'socket hang up'}))
      })
      req.end()
    })
  }

  /** runs `count` requests, `concurrency` at a time */
  async many<T>(count: number, one: (i: number) => Promise<T>, concurrency = 32): Promise<T[]> {
    const results = new Array<T>(count)
    let next = 0
    await Promise.all(
      Array.from({length: concurrency}, async () => {
        while (next < count) {
          const i = next++
          results[i] = await one(i)
        }
      }),
    )
    return results
  }

  close(): void {
    this.agent.destroy()
  }
}

/** The server block users write around gray's include. */
export function userServer(port: number): string {
  return `    server {
        listen 127.0.0.1:${port};
        keepalive_requests 100000;
        location / {
            proxy_pass http://$${VARIABLE};
            proxy_set_header ${TAG.header} $${VARIABLE}_tag;
            add_header X-Gray-Revision $${VARIABLE}_revision always;
        }
    }`
}

let revisionCounter = 0

export function policy(stable: Host[], gray: Host[], overrides: Partial<Policy> = {}): Policy {
  return {
    service: SERVICE,
    revision: `r${++revisionCounter}-${process.pid}`,
    mode: 'split',
    weightBp: 0,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [],
    tag: TAG,
    stable,
    gray,
    ...overrides,
  }
}

export const RULES: Rule[] = [
  {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
  {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']},
  {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
  {kind: 'prefix', field: {source: 'query', name: 'build'}, value: 'beta.'},
  {kind: 'equals', field: {source: 'cookie', name: 'team-name'}, value: 'dogfood'},
  {kind: 'cidr', cidrs: ['10.9.0.0/16']},
]

/** the 20 weight changes the load tests publish under load */
export const LOAD_WEIGHTS_BP = [100, 500, 1000, 2500, 5000, 7500, 10_000, 5000, 2500, 1000, 100, 1000, 5000, 9000, 9999, 10_000, 2000, 300, 6000, 8000]

export interface LoadStats {
  ok: number
  failed: number
  resent: number
  gray: number
  stable: number
  failures: string[]
}

/**
 * load-worker.mjs in a second process, 8 clients requesting `baseUrl` until
 * stop() returns what they saw; `started` gets the process at once, so a test
 * can kill it even when it never becomes ready.
 */
export async function startLoad(baseUrl: string, started: (child: ChildProcess) => void): Promise<{stop(): Promise<LoadStats>}> {
  const script = fileURLToPath(new URL('./load-worker.mjs', import.meta.url))
  const child = fork(script, [`${baseUrl}/`, '8'], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  started(child)
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.on('message', (message: {type: string}) => message.type === 'ready' && resolve())
  })
  return {
    stop: () =>
      new Promise<LoadStats>((resolve) => {
        child.on('message', (message: {type: string; stats?: LoadStats}) => message.type === 'stats' && resolve(message.stats as LoadStats))
        child.send('stop')
      }),
  }
}
