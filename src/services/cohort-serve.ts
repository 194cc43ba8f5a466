// `gray cohort serve`: an HTTP endpoint answering, for a service and a user's
// attributes, whether that user is in gray now, which tag to send and the
// revision of the policy that decided — read from the run in the state backend
// and re-read when it changes. The decision is the library's (src/cohort/).
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import createDebug from 'debug'
import {z} from 'zod'

import {cohortSplit, decisionOf, type CohortAttributes, type CohortDecision} from '../cohort/decision.js'
import type {GrayConfig} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import {toDocument, type PolicyDocument} from '../core/policy/document.js'
import type {Split} from '../core/policy/split.js'
import type {JournalEvent, Policy} from '../core/ports.js'
import {replay, type RunState} from '../core/run/state.js'
import type {StateBackend} from '../state/backend.js'
import {policyInForce} from './cohort.js'

const debug = createDebug('gray:cohort-serve')

export const SERVE_DEFAULTS = {listen: '127.0.0.1:8787', cacheSize: 10_000, maxBodyBytes: 16 * 1024, refreshMs: 10_000} as const
/** a request longer than this (path and query, or body) is answered but not cached */
const MAX_CACHED_KEY = 1024

/** The one line `gray cohort serve` prints once it answers. */
export interface CohortServeReady {
  listen: string
  service: string
  backend: 'local' | 'postgres'
}

/** What the endpoint answers for one user (schema/cohort-answer.schema.json). */
export interface CohortServeAnswer {
  service: string
  /** true exactly when `cohort` is gray */
  gray: boolean
  cohort: CohortDecision['cohort']
  tag: CohortDecision['tag']
  /** the revision of the policy in force (the last one the gateway confirmed); null before the service's first run published one */
  revision: string | null
  /** the run that policy belongs to, or null when the service has no run */
  run: {id: string; state: string; weightBasisPoints: number} | null
  why: CohortDecision['why']
  rule: CohortDecision['rule']
  bucket: CohortDecision['bucket']
}

export const cohortServeAnswer = z
  .strictObject({
    service: z.string(),
    gray: z.boolean().describe('true exactly when cohort is gray'),
    cohort: z.enum(['gray', 'stable']),
    tag: z.strictObject({header: z.string(), value: z.string()}).nullable().describe('the header to send with a gray request; null for stable (remove the header there) or when the policy has no tag'),
    revision: z.string().nullable().describe('revision of the policy in force; null before any run published one'),
    run: z.strictObject({id: z.string(), state: z.string(), weightBasisPoints: z.number().int()}).nullable(),
    why: z.enum(['plain', 'rule', 'no-key', 'weight']),
    rule: z.number().int().nullable().describe("index into the policy's rules when why is rule"),
    bucket: z.number().int().nullable().describe("the key's bucket on the gateway's 0..9999 scale when why is weight"),
  })
  .describe('`gray cohort serve`: the answer to GET or POST /v1/cohort/{service}')

export function cohortAnswerJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(cohortServeAnswer, {target: 'draft-2020-12', io: 'output'})
  return {...schema, $id: 'https://github.com/gray-cli/gray/schema/cohort-answer.schema.json', title: 'gray cohort serve answer'}
}

const record = z.record(z.string(), z.string())
const attributesBody = z.strictObject({
  uid: z.string().optional(),
  ip: z.string().optional(),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  cookies: z.union([z.string(), record]).optional(),
  query: z.union([z.string(), record]).optional(),
})

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** GET parameters: uid, ip, header.NAME, cookie.NAME, query.NAME (the first of a repeated name counts). */
export function attributesFromSearch(search: string): CohortAttributes {
  const headers: Record<string, string> = {}
  const cookies: Record<string, string> = {}
  const query: Record<string, string> = {}
  const out: CohortAttributes = {headers, cookies, query}
  for (const [name, value] of new URLSearchParams(search)) {
    const dot = name.indexOf('.')
    const [kind, field] = dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)]
    const into = kind === 'header' ? headers : kind === 'cookie' ? cookies : kind === 'query' ? query : null
    if (into && field) {
      if (!Object.hasOwn(into, field)) Object.defineProperty(into, field, {value, enumerable: true, writable: true, configurable: true})
    } else if (dot < 0 && name === 'uid') out.uid ??= value
    else if (dot < 0 && name === 'ip') out.ip ??= value
    else throw new BadRequest(400, `unknown parameter "${name.slice(0, 64)}": use uid, ip, header.NAME, cookie.NAME or query.NAME`)
  }
  return out
}

function attributesFromBody(text: string): CohortAttributes {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequest(400, 'the body is not JSON: send {"uid": …, "headers": {…}, "cookies": …, "query": …, "ip": …}')
  }
  const parsed = attributesBody.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : 'the body'
    throw new BadRequest(400, `${where}: ${issue?.message ?? 'not a set of attributes'}`)
  }
  return parsed.data
}

/** The policy in force and what the answer says about the run. */
interface Snapshot {
  policy: Policy
  revision: string | null
  run: CohortServeAnswer['run']
  document: PolicyDocument | null
}

function snapshotOf(config: GrayConfig, state: RunState | null): Snapshot {
  const policy = policyInForce(config, state)
  const revision = state?.applied?.revision ?? null
  return {
    policy,
    revision,
    run: state ? {id: state.runId, state: state.status, weightBasisPoints: policy.mode === 'plain' ? 0 : policy.weightBp} : null,
    document: revision ? toDocument({...policy, revision}) : null,
  }
}

/** A bounded map of answers for the policy in force, least recently used out first; emptied when the policy changes. */
class AnswerCache {
  private readonly entries = new Map<string, string>()
  hits = 0
  misses = 0
  constructor(readonly max: number) {}

  get(key: string): string | undefined {
    const found = this.entries.get(key)
    if (found === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    this.entries.delete(key)
    this.entries.set(key, found)
    return found
  }

  set(key: string, value: string): void {
    if (this.max <= 0 || key.length > MAX_CACHED_KEY) return
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, value)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}

export interface CohortServerOptions {
  config: GrayConfig
  backend: StateBackend
  /** host:port; default 127.0.0.1:8787 (port 0 picks a free one) */
  listen?: string
  /** answers kept; 0 keeps none */
  cacheSize?: number
  maxBodyBytes?: number
  /** re-read the state this often even without a notice from the backend */
  refreshMs?: number
}

export interface CohortServer {
  readonly url: string
  /** the revision answers carry now */
  revision(): string | null
  /** re-reads the state now (the server does it by itself on every notice) */
  refresh(): Promise<void>
  close(): Promise<void>
}

export function parseListen(text: string): {host: string; port: number} {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  if (!match || port > 65_535) throw new ConfigError(`--listen: "${text}" is not host:port (port 0 picks a free one)`)
  return {host: (match[1] ?? match[2]) as string, port}
}

export async function startCohortServer(options: CohortServerOptions): Promise<CohortServer> {
  const {config, backend} = options
  const service = config.service
  let split: Split
  try {
    split = cohortSplit(config.gateway.type)
  } catch (error) {
    throw new ConfigError(`gray cohort serve: ${(error as Error).message}`)
  }
  const listen = parseListen(options.listen ?? SERVE_DEFAULTS.listen)
  const maxBody = options.maxBodyBytes ?? SERVE_DEFAULTS.maxBodyBytes
  const cache = new AnswerCache(options.cacheSize ?? SERVE_DEFAULTS.cacheSize)

  // the run being followed: its events so far, so a notice reads only what was appended
  let followed: {runId: string; events: JournalEvent[]} | null = null
  let snapshot = snapshotOf(config, null)
  let lastError: string | null = null

  async function read(): Promise<void> {
    const runId = await backend.currentRun(service)
    if (!runId) {
      followed = null
    } else if (followed?.runId === runId) {
      const more = await backend.readEvents(service, runId, (followed.events.at(-1)?.seq ?? 0) + 1)
      followed.events.push(...more)
    } else {
      followed = {runId, events: await backend.readEvents(service, runId)}
    }
    const next = snapshotOf(config, followed ? replay(followed.events) : null)
    if (next.revision !== snapshot.revision || next.run?.state !== snapshot.run?.state || next.run?.id !== snapshot.run?.id) cache.clear()
    snapshot = next
    lastError = null
  }

  // one read at a time; notices during a read ask for one more after it
  let reading: Promise<void> | null = null
  let again = false
  function refresh(): Promise<void> {
    if (reading) {
      again = true
      return reading
    }
    reading = (async () => {
      do {
        again = false
        try {
          await read()
        } catch (error) {
          lastError = (error as Error).message
          debug('reading the state failed, answers keep revision %s: %O', snapshot.revision, error)
        }
      } while (again)
    })().finally(() => (reading = null))
    return reading
  }

  await read()
  const unsubscribe = await backend.subscribe(service, (notice) => {
    if (notice.kind !== 'request') void refresh()
  })
  const timer = setInterval(() => void refresh(), options.refreshMs ?? SERVE_DEFAULTS.refreshMs)
  timer.unref()

  const answerFor = (attributes: CohortAttributes): string => {
    const d = decisionOf(snapshot.policy, split, attributes)
    const answer: CohortServeAnswer = {service, gray: d.cohort === 'gray', cohort: d.cohort, tag: d.tag, revision: snapshot.revision, run: snapshot.run, why: d.why, rule: d.rule, bucket: d.bucket}
    return `${JSON.stringify(answer)}\n`
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path === '/healthz') {
      return sendJson(res, 200, {ok: lastError === null, service, revision: snapshot.revision, error: lastError, cache: {size: cache.size, max: cache.max, hits: cache.hits, misses: cache.misses}})
    }
    const route = /^\/v1\/(cohort|policy)\/([^/]+)$/.exec(path)
    if (!route) return sendJson(res, 404, {error: 'not found: ask GET or POST /v1/cohort/{service}, or GET /v1/policy/{service}'})
    const name = safeDecode(route[2] as string)
    if (name !== service) return sendJson(res, 404, {error: `this endpoint answers for service "${service}" only`})
    if (route[1] === 'policy') {
      if (req.method !== 'GET') return notAllowed(res, 'GET')
      if (!snapshot.document) return sendJson(res, 404, {error: `service "${service}" has no published policy yet`})
      return sendJson(res, 200, snapshot.document, snapshot.revision)
    }
    if (req.method !== 'GET' && req.method !== 'POST') return notAllowed(res, 'GET, POST')
    const body = req.method === 'POST' ? await readBody(req, maxBody) : null
    const key = body === null ? `g${q < 0 ? '' : url.slice(q + 1)}` : `p${body}`
    let text = cache.get(key)
    if (text === undefined) {
      text = answerFor(body === null ? attributesFromSearch(q < 0 ? '' : url.slice(q + 1)) : attributesFromBody(body))
      cache.set(key, text)
    }
    return sendText(res, 200, text, snapshot.revision)
  }

  const server: Server = createServer({maxHeaderSize: 8 * 1024, headersTimeout: 5_000, requestTimeout: 10_000}, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof BadRequest) return sendJson(res, error.status, {error: error.message})
      if (error instanceof TypeError) return sendJson(res, 400, {error: error.message})
      debug('answering failed: %O', error)
      sendJson(res, 500, {error: 'internal error'})
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL' ? new ConfigError(`--listen ${options.listen ?? SERVE_DEFAULTS.listen}: ${error.code}`) : error),
    )
    server.listen(listen.port, listen.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.address.includes(':') ? `[${address.address}]` : address.address

  return {
    url: `http://${host}:${address.port}`,
    revision: () => snapshot.revision,
    refresh,
    async close() {
      clearInterval(timer)
      await unsubscribe()
      await reading
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length'])
  if (declared > max) return Promise.reject(new BadRequest(413, `the body is larger than ${max} bytes`))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        reject(new BadRequest(413, `the body is larger than ${max} bytes`))
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow)
  sendJson(res, 405, {error: `method not allowed here; use ${allow}`})
}

function sendJson(res: ServerResponse, status: number, body: unknown, revision?: string | null): void {
  sendText(res, status, `${JSON.stringify(body)}\n`, revision)
}

function sendText(res: ServerResponse, status: number, text: string, revision?: string | null): void {
  if (res.headersSent) return
  const headers: Record<string, string | number> = {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store'}
  if (revision) headers['x-gray-revision'] = revision
  res.writeHead(status, headers)
  res.end(text)
}

// Compile-time: the schema describes exactly the answer the endpoint sends.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same = <A, B>(ok: Same<A, B>) => ok
same<z.output<typeof cohortServeAnswer>, CohortServeAnswer>(true)
