// The http gateway against a tiny real control plane on 127.0.0.1.
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, afterEach, beforeAll, describe, expect, test} from 'vitest'
import {HttpGateway} from '../../../src/adapters/gateways/http/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import {fromDocument, type PolicyDocument} from '../../../src/core/policy/document.js'
import type {Policy} from '../../../src/core/ports.js'

const TOKEN = 's3cr3t-token-value'

interface Seen {
  method: string
  url: string
  authorization?: string
}

let server: Server
let base: string
const stored = new Map<string, unknown>()
const seen: Seen[] = []
/** status codes to answer the next requests with, before behaving */
let failNext: number[] = []
let delayMs = 0
/** served instead of what was stored (a control plane that lags or lies) */
let override: unknown

beforeAll(async () => {
  server = createServer(async (req, res) => {
    seen.push({method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization})
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs))
    const send = (status: number, body?: unknown) => {
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      res.end(body === undefined ? '' : JSON.stringify(body))
    }
    const failure = failNext.shift()
    if (failure) return send(failure, {error: `scripted ${failure}`})
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, {error: 'bad token'})
    if (req.method === 'PUT') {
      const body = await readBody(req)
      try {
        fromDocument(body)
      } catch (error) {
        return send(400, {error: (error as Error).message})
      }
      stored.set(req.url ?? '', body)
      return send(200, body)
    }
    if (override !== undefined) return send(200, override)
    const doc = stored.get(req.url ?? '')
    return doc ? send(200, doc) : send(404, {error: 'no policy'})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

afterEach(() => {
  stored.clear()
  seen.length = 0
  failNext = []
  delayMs = 0
  override = undefined
})

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const fast = {retry: {attempts: 3, baseDelayMs: 5, maxDelayMs: 20}, confirmTimeoutMs: 300, confirmIntervalMs: 20, requestTimeoutMs: 500}

function gateway(token: string | undefined = TOKEN, timings = fast): HttpGateway {
  return new HttpGateway({type: 'http', url: `${base}/v1/services/{service}/policy?x=1`, token}, 'check out', timings)
}

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'check out',
    revision: 'r1',
    mode: 'split',
    weightBp: 1000,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [{kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999}],
    tag: {header: 'X-Gray-Tag', value: 'gray'},
    stable: [{name: 'web-1', address: '10.0.0.21:8080'}],
    gray: [{name: 'web-9', address: '10.0.0.11:8080'}],
    ...over,
  }
}

describe('http gateway', () => {
  test('reads back null before anything was published', async () => {
    expect(await gateway().readBack()).toBeNull()
  })

  test('PUTs the gray.dev/v1 document to the URL with {service} filled and the bearer token, and confirms it by GET', async () => {
    const applied = await gateway().publish(policy())
    expect(applied).toEqual({revision: 'r1', weightBp: 1000, mode: 'split'})
    const doc = stored.get('/v1/services/check%20out/policy?x=1') as PolicyDocument
    expect(doc.apiVersion).toBe('gray.dev/v1')
    expect(doc.weightBasisPoints).toBe(1000)
    expect(doc.rules).toEqual([{header: 'X-Uid', range: [1000, 1999]}])
    expect(seen.map((s) => s.method)).toEqual(['PUT', 'GET'])
    expect(seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true)
  })

  test('retries 5xx answers with backoff and then succeeds', async () => {
    failNext = [503, 502]
    expect((await gateway().publish(policy({revision: 'r2'}))).revision).toBe('r2')
    expect(seen.filter((s) => s.method === 'PUT')).toHaveLength(3)
  })

  test('gives up after its attempts on lasting 5xx, retryable for the engine', async () => {
    failNext = [500, 500, 500]
    const error = (await gateway().publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('HTTP 500')
  })

  test('a 4xx is permanent, not retried, and the token never appears in the message', async () => {
    const error = (await gateway('wrong-token').publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('HTTP 401')
    expect(error.message).toContain('gateway.token')
    expect(error.message).not.toContain('wrong-token')
    expect(error.message).not.toContain('x=1')
    expect(seen).toHaveLength(1)
  })

  test('a request that takes longer than the timeout fails as retryable', async () => {
    delayMs = 800
    const error = (await gateway().readBack().catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(false)
    expect(error.message).toMatch(/did not answer within 0.5 s/)
  })

  test('an unreachable control plane is a retryable error naming the URL without query', async () => {
    const closed = new HttpGateway({type: 'http', url: 'http://127.0.0.1:1/policy?token=abc', token: TOKEN}, 'check out', fast)
    const error = (await closed.readBack().catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('http://127.0.0.1:1/policy')
    expect(error.message).not.toContain('abc')
  })

  test('a control plane that keeps serving another revision is not a confirmed publish', async () => {
    await gateway().publish(policy({revision: 'old'}))
    override = stored.get('/v1/services/check%20out/policy?x=1')
    const error = (await gateway().publish(policy({revision: 'new'})).catch((e: unknown) => e)) as GatewayError
    expect(error.message).toContain('serves revision old')
  })

  test('a served document that is not a policy is a permanent error', async () => {
    override = {hello: 'world'}
    const error = (await gateway().readBack().catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('policy document')
  })
})
