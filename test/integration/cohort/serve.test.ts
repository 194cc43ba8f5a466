// `gray cohort serve` on each real state backend: it answers from the policy in
// force as the run's journal tells it, follows the run as another process's
// writes arrive (no restart, no call to refresh), and on a real nginx the
// endpoint puts 20,000 users where nginx does under the policy it serves.
import {mkdtempSync} from 'node:fs'
import {Agent, request} from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {cohortPolicy} from '../../../src/cohort/index.js'
import {configFromObject} from '../../../src/core/config/load.js'
import type {GrayConfig} from '../../../src/core/config/model.js'
import {fromDocument} from '../../../src/core/policy/document.js'
import {inGray} from '../../../src/core/policy/hash.js'
import {SPLIT_CLIENTS} from '../../../src/core/policy/split.js'
import {runStarted} from '../../../src/core/run/begin.js'
import {startCohortServer, type CohortServeAnswer, type CohortServer} from '../../../src/services/cohort-serve.js'
import {openBackend, type Lease, type StateBackend, type StateConfig} from '../../../src/state/backend.js'
import {newRunId} from '../../../src/state/store.js'
import {nginxBinary, startNginx} from '../../support/nginx.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../../support/postgres.js'
import {Client, cohortServer, userServer, VARIABLE, type CohortServer as Upstream} from '../nginx/support.js'
import {me, waitFor} from '../state/conformance.js'

const SERVICE = 'shop'

function configWith(
  state: Record<string, unknown>,
  {gateway = {type: 'sandbox'}, hosts = {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']}, sticky = 'cookie:uid'}: {gateway?: Record<string, unknown>; hosts?: {stable: string[]; gray: string[]}; sticky?: string} = {},
): GrayConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-cohort-serve-'))
  return configFromObject(
    {
      service: SERVICE,
      state: {dir: path.join(dir, '.gray'), ...state},
      hosts,
      deploy: {command: ['true']},
      gateway,
      traffic: {sticky, rules: [{header: 'X-Gray', equals: '1'}], tag: {header: 'X-Gray-Tag', value: 'gray'}},
    },
    path.join(dir, 'gray.yaml'),
  )
}

/** Another process's driver, as far as the journal goes: a run, its step publishes, its rollback. */
class Writer {
  private lease!: Lease
  private runId = newRunId()
  private seq = 1
  constructor(
    private readonly backend: StateBackend,
    private readonly config: GrayConfig,
    /** the run's cohort seed, as `gray start` picks one under traffic.rotate */
    private readonly seed: string | null = null,
  ) {}

  async start(): Promise<void> {
    this.lease = await this.backend.acquireLease(SERVICE, me(), {ttlMs: 600_000})
    await this.backend.createRun(SERVICE, this.runId, this.lease, {type: 'run.started', data: runStarted(this.config, this.runId, 'v2', 'v1', this.seed) as never})
  }

  /** confirms a publish; returns its revision */
  async publish(weightBp: number, purpose: 'step' | 'rollback', step: number): Promise<string> {
    const revision = `${this.runId}.${this.seq + 1}`
    const events = [
      ...(purpose === 'step' ? [{type: 'step.started', data: {index: step, weight: weightBp / 100}}] : []),
      {type: 'gateway.publish.started', data: {revision, weightBp, mode: 'split', purpose, step, rules: purpose === 'step' ? 1 : 0, ...this.upstreams()}},
      {type: 'gateway.publish.confirmed', data: {revision, weightBp, mode: 'split', purpose, step}},
    ]
    const written = await this.backend.append(SERVICE, this.runId, this.lease, events)
    this.seq = written.at(-1)?.seq ?? this.seq
    return revision
  }

  private upstreams(): {gray: string[]; stable: string[]} {
    return {gray: this.config.hosts.gray.map((h) => h.address), stable: this.config.hosts.stable.map((h) => h.address)}
  }

  async rollBack(): Promise<string> {
    return this.publish(0, 'rollback', 0)
  }

  async release(): Promise<void> {
    await this.lease?.release()
  }
}

const agent = new Agent({keepAlive: true, maxSockets: 16})

/** GET /v1/cohort/shop?query over a keep-alive connection */
function ask(base: string, query: string): Promise<CohortServeAnswer> {
  return new Promise((resolve, reject) => {
    request(`${base}/v1/cohort/${SERVICE}?${query}`, {agent}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as CohortServeAnswer) : reject(new Error(`${res.statusCode}: ${body}`))))
    })
      .on('error', reject)
      .end()
  })
}

const USERS = Array.from({length: 1000}, (_, i) => `u${i}`)

function follows(name: string, stateOf: () => Promise<Record<string, unknown>>, skip = false) {
  describe.skipIf(skip)(`on the ${name} backend`, () => {
    const open: Array<{close(): Promise<void>}> = []
    afterEach(async () => {
      for (const o of open.splice(0).reverse()) await o.close().catch(() => undefined)
    })

    it("answers from the policy in force and follows another process's run as it steps and rolls back", async () => {
      const config = configWith(await stateOf())
      const reader = await openBackend(config.state as StateConfig)
      open.push(reader)
      const server = await startCohortServer({config, backend: reader, listen: '127.0.0.1:0'})
      open.push(server)

      expect(await ask(server.url, 'uid=u1&header.X-Gray=1')).toEqual({service: SERVICE, gray: false, cohort: 'stable', tag: null, revision: null, run: null, why: 'plain', rule: null, bucket: null})

      const writerBackend = await openBackend(config.state as StateConfig)
      open.push(writerBackend)
      const writer = new Writer(writerBackend, config)
      open.push({close: () => writer.release()})
      await writer.start()
      const ten = await writer.publish(1000, 'step', 0)
      await waitFor('the 10% revision', async () => (await ask(server.url, 'uid=u1')).revision === ten)

      const grayAtTen = new Set<string>()
      for (const uid of USERS) {
        const a = await ask(server.url, `uid=${uid}`)
        expect({uid, cohort: a.cohort}).toEqual({uid, cohort: inGray(uid, 1000) ? 'gray' : 'stable'})
        expect(a.tag).toEqual(a.gray ? {header: 'X-Gray-Tag', value: 'gray'} : null)
        if (a.gray) grayAtTen.add(uid)
      }
      expect(await ask(server.url, 'header.x-gray=1')).toMatchObject({gray: true, why: 'rule', rule: 0, revision: ten, run: {state: 'baking', weightBasisPoints: 1000}})

      const fifty = await writer.publish(5000, 'step', 1)
      await waitFor('the 50% revision', async () => (await ask(server.url, 'uid=u1')).revision === fifty)
      for (const uid of grayAtTen) expect((await ask(server.url, `uid=${uid}`)).gray).toBe(true)

      const back = await writer.rollBack()
      await waitFor('the rollback revision', async () => (await ask(server.url, 'uid=u1')).revision === back)
      // a rollback publishes weight 0 and no rules: the header that sent testers to gray no longer does
      expect(await ask(server.url, 'header.X-Gray=1')).toMatchObject({gray: false, revision: back, run: {weightBasisPoints: 0}})
    }, 120_000)
  })
}

let pg: PostgresServer | undefined
beforeAll(async () => {
  if (!skipWithoutPostgres) pg = await startPostgres()
}, 180_000)
afterAll(async () => {
  agent.destroy()
  await pg?.destroy()
}, 180_000)

follows('local', async () => ({}))
follows('postgres', async () => ({backend: 'postgres', url: await (pg as PostgresServer).createDatabase()}), skipWithoutPostgres)

describe("a run's cohort seed", () => {
  it('answers with the buckets of the seed run.started froze, and serves it in /v1/policy', async () => {
    const config = configWith({})
    const backend = await openBackend(config.state as StateConfig)
    const writer = new Writer(backend, config, '3f9a1c07')
    await writer.start()
    await writer.publish(1000, 'step', 0)
    await writer.release()
    const server = await startCohortServer({config, backend, listen: '127.0.0.1:0'})
    try {
      const doc = (await (await fetch(`${server.url}/v1/policy/${SERVICE}`)).json()) as {seed?: string}
      expect(doc.seed).toBe('3f9a1c07')
      const library = cohortPolicy(doc, {gateway: 'sandbox'})
      let moved = 0
      for (const uid of USERS.slice(0, 400)) {
        const a = await ask(server.url, `uid=${uid}`)
        expect({uid, cohort: a.cohort, bucket: a.bucket}).toEqual({uid, cohort: library.decide({uid}).cohort, bucket: SPLIT_CLIENTS.bucketOf(uid, '3f9a1c07')})
        if (a.gray !== inGray(uid, 1000)) moved++
      }
      // the seed puts other users in gray than the key alone would
      expect(moved).toBeGreaterThan(0)
    } finally {
      await server.close()
      await backend.close()
    }
  }, 120_000)
})

describe('requests', () => {
  let server: CohortServer
  let backend: StateBackend
  let base: string
  beforeAll(async () => {
    const config = configWith({})
    backend = await openBackend(config.state as StateConfig)
    const writer = new Writer(backend, config)
    await writer.start()
    await writer.publish(2500, 'step', 0)
    await writer.release()
    server = await startCohortServer({config, backend, listen: '127.0.0.1:0', cacheSize: 3, maxBodyBytes: 1024})
    base = server.url
  })
  afterAll(async () => {
    await server?.close()
    await backend?.close()
  })

  const post = (body: string, headers: Record<string, string> = {}) => fetch(`${base}/v1/cohort/${SERVICE}`, {method: 'POST', body, headers: {'content-type': 'application/json', ...headers}})

  it('POST takes the attributes as JSON, message-head fields as headers; GET and POST agree', async () => {
    const byPost = (await (await post(JSON.stringify({uid: 'u7', headers: {'X-GRAY': '1'}}))).json()) as CohortServeAnswer
    expect(byPost).toMatchObject({gray: true, why: 'rule', rule: 0})
    const plain = (await (await post(JSON.stringify({cookies: 'uid=u7'}))).json()) as CohortServeAnswer
    expect(plain).toEqual(await ask(base, 'cookie.uid=u7'))
    expect(plain).toEqual(await ask(base, 'uid=u7'))
  })

  it('serves the policy in force as a document the library decides the same with', async () => {
    const res = await fetch(`${base}/v1/policy/${SERVICE}`)
    expect(res.status).toBe(200)
    const doc: unknown = await res.json()
    expect(res.headers.get('x-gray-revision')).toBe((doc as {revision: string}).revision)
    const library = cohortPolicy(doc, {gateway: 'sandbox'})
    for (const uid of USERS.slice(0, 300)) {
      const d = library.decide({uid})
      const a = await ask(base, `uid=${uid}`)
      expect({cohort: a.cohort, tag: a.tag, revision: a.revision}).toEqual({cohort: d.cohort, tag: d.tag, revision: d.revision})
    }
  })

  it('refuses bad requests with one sentence and the status that says why', async () => {
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [fetch(`${base}/v1/cohort/${SERVICE}?user=1`), 400, /unknown parameter "user"/],
      [post('{"uid": 1}'), 400, /^uid: /],
      [post('{"uid": "u1", "extra": true}'), 400, /extra/],
      [post('not json'), 400, /not JSON/],
      [post(JSON.stringify({uid: 'x'.repeat(2000)})), 413, /larger than 1024 bytes/],
      [fetch(`${base}/v1/cohort/other?uid=1`), 404, /service "shop" only/],
      [fetch(`${base}/v1/cohort/${SERVICE}`, {method: 'DELETE'}), 405, /use GET, POST/],
      [fetch(`${base}/nothing`), 404, /not found/],
      [fetch(`${base}/v1/cohort/${SERVICE}?uid=1`, {headers: {'x-big': 'y'.repeat(20_000)}}), 431, /.*/],
    ]
    for (const [response, status, error] of cases) {
      const res = await response
      const text = await res.text()
      expect({status: res.status}).toEqual({status})
      if (status !== 431) expect((JSON.parse(text) as {error: string}).error).toMatch(error)
    }
  })

  it('keeps at most --cache-size answers, and a cached answer is the same answer', async () => {
    const first = await ask(base, 'uid=c0')
    for (let i = 0; i < 10; i++) await ask(base, `uid=c${i}`)
    const health = (await (await fetch(`${base}/healthz`)).json()) as {cache: {size: number; max: number; hits: number}}
    expect(health.cache.size).toBe(3)
    expect(health.cache.max).toBe(3)
    const hitsBefore = health.cache.hits
    expect(await ask(base, 'uid=c9')).toEqual(await ask(base, 'uid=c9'))
    expect(((await (await fetch(`${base}/healthz`)).json()) as {cache: {hits: number}}).cache.hits).toBeGreaterThan(hitsBefore)
    expect(await ask(base, 'uid=c0')).toEqual(first)
  })

  it('a policy that hashes the client address refuses a uid', async () => {
    const config = configWith({}, {sticky: 'ip'})
    const b = await openBackend(config.state as StateConfig)
    const s = await startCohortServer({config, backend: b, listen: '127.0.0.1:0'})
    try {
      const res = await fetch(`${s.url}/v1/cohort/${SERVICE}?uid=u1`)
      expect(res.status).toBe(400)
      expect(((await res.json()) as {error: string}).error).toMatch(/pass ip instead/)
      expect((await ask(s.url, 'ip=10.1.2.3')).why).toBe('plain')
    } finally {
      await s.close()
      await b.close()
    }
  })
})

describe.skipIf(nginxBinary() === null)('against a real nginx serving the same policy', () => {
  let upstreams: Upstream[] = []
  afterAll(async () => {
    await Promise.all(upstreams.map((u) => u.close()))
  })

  it('puts 20,000 users where nginx does', async () => {
    upstreams = [await cohortServer('stable', 'web-1'), await cohortServer('gray', 'web-9')]
    const [stable, gray] = upstreams as [Upstream, Upstream]
    const config = configWith({}, {gateway: {type: 'nginx', include: '/unused.conf', variable: VARIABLE, test: ['true'], reload: ['true']}, hosts: {stable: [stable.host.address], gray: [gray.host.address]}})
    const backend = await openBackend(config.state as StateConfig)
    const writer = new Writer(backend, config)
    await writer.start()
    await writer.publish(1000, 'step', 0)
    await writer.release()
    const server = await startCohortServer({config, backend, listen: '127.0.0.1:0', cacheSize: 0})
    const doc = (await (await fetch(`${server.url}/v1/policy/${SERVICE}`)).json()) as unknown
    const policy = fromDocument(doc)
    const make = (include: string, argv?: {test: string[]; reload: string[]}) =>
      new NginxGateway({type: 'nginx', include, variable: VARIABLE, test: argv?.test ?? ['true'], reload: argv?.reload ?? ['true']}, SERVICE)
    const nginx = await startNginx({includeName: 'shop.conf', include: (p) => make(p).render(policy), servers: userServer})
    const client = new Client(nginx.baseUrl)
    try {
      const users = Array.from({length: 20_000}, (_, i) => `u${i}`)
      const seen = await client.many(users.length, (i) => client.get('/', {cookie: `uid=${users[i]}`}))
      const differ: unknown[] = []
      let next = 0
      await Promise.all(
        Array.from({length: 16}, async () => {
          while (next < users.length) {
            const i = next++
            const a = await ask(server.url, `uid=${users[i]}`)
            const n = seen[i]!
            if (a.cohort !== n.cohort || (a.tag?.value ?? null) !== n.tag) differ.push({user: users[i], endpoint: a.cohort, nginx: n.cohort})
          }
        }),
      )
      expect(differ.slice(0, 5)).toEqual([])
      expect(seen.filter((s) => s.cohort === 'gray').length).toBeGreaterThan(1500)
    } finally {
      client.close()
      await nginx.stop()
      await server.close()
      await backend.close()
    }
  }, 240_000)
})
