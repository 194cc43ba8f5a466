// The APISIX gateway against the in-process fake Admin API (test/fakes/apisix.ts).
import {afterAll, afterEach, beforeAll, describe, expect, test} from 'vitest'
import {ApisixGateway} from '../../../src/adapters/gateways/apisix/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import {decide} from '../../../src/core/policy/decide.js'
import type {Policy} from '../../../src/core/ports.js'
import {startFakeApisix, type FakeApisix, type FakeRequest} from '../../fakes/apisix.js'

const STABLE = {name: 'web-1', address: '10.0.0.21:8080'}
const GRAY = {name: 'web-9', address: '10.0.0.11:8080'}
const ROUTE = {
  uri: '/checkout/*',
  name: 'checkout',
  upstream: {type: 'roundrobin', nodes: {'10.0.0.21:8080': 1}},
  plugins: {'limit-count': {count: 100, time_window: 60}},
  labels: {team: 'payments'},
}

let fake: FakeApisix
const fast = {requestTimeoutMs: 1000, retry: {attempts: 4, baseDelayMs: 5, maxDelayMs: 20}}

beforeAll(async () => {
  fake = await startFakeApisix({cohorts: {[STABLE.address]: 'stable', [GRAY.address]: 'gray'}})
})
afterAll(() => fake.close())
afterEach(() => {
  fake.requests.length = 0
  fake.failNext = []
  fake.afterGet = undefined
  fake.setRoute('1', ROUTE)
})

function gateway(key: string | undefined = fake.key): ApisixGateway {
  return new ApisixGateway({type: 'apisix', url: `${fake.url}/`, routeId: '1', key}, 'checkout', fast)
}

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: 'rev 1',
    mode: 'split',
    weightBp: 1000,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [
      {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
      {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']},
      {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
      {kind: 'prefix', field: {source: 'query', name: 'build'}, value: 'beta.'},
      {kind: 'cidr', cidrs: ['10.9.0.0/16']},
    ],
    stable: [STABLE],
    gray: [GRAY],
    ...over,
  }
}

describe('apisix gateway', () => {
  test('publishes traffic-split and labels, keeps the route’s other fields, and reads the revision back', async () => {
    fake.setRoute('1', ROUTE)
    const applied = await gateway().publish(policy())
    expect(applied).toEqual({revision: 'rev 1', weightBp: 1000, mode: 'split'})
    const route = fake.route('1') as typeof ROUTE & {plugins: Record<string, unknown>; labels: Record<string, string>}
    expect(route.uri).toBe(ROUTE.uri)
    expect(route.upstream).toEqual(ROUTE.upstream)
    expect(route.plugins['limit-count']).toEqual(ROUTE.plugins['limit-count'])
    expect(route.labels).toMatchObject({team: 'payments', 'gray-revision': 'rev%201', 'gray-weight-bp': '1000', 'gray-mode': 'split'})
    expect(await gateway().readBack()).toEqual(applied)
  })

  test('rules, missing keys and weights route as decide() says', async () => {
    const published = policy({weightBp: 0})
    await gateway().publish(published)
    const cases: FakeRequest[] = [
      {headers: {'X-Gray': '1'}},
      {headers: {'X-Gray': '2'}},
      {cookies: {device_id: 'd-43'}},
      {cookies: {device_id: 'd-44'}},
      {headers: {'X-Uid': '01999'}},
      {headers: {'X-Uid': '2000'}},
      {headers: {'X-Uid': '1500.5'}},
      {query: {build: 'beta.3'}},
      {query: {build: 'betaX3'}},
      {ip: '10.9.3.4'},
      {ip: '10.8.3.4'},
      {cookies: {uid: 'u1'}},
    ]
    for (const req of cases) {
      const expected = decide(published, {headers: lower(req.headers), cookies: req.cookies ?? {}, query: req.query ?? {}, ip: req.ip ?? '127.0.0.1'})
      expect({req, cohort: fake.routeRequest('1', req)}).toEqual({req, cohort: expected.target})
    }
  })

  test('below 100% a request without the sticky key goes to stable; at 100% every request goes to gray', async () => {
    await gateway().publish(policy({weightBp: 9999, rules: []}))
    expect(fake.routeRequest('1', {}, () => 0)).toBe('stable')
    expect(fake.routeRequest('1', {cookies: {uid: ''}}, () => 0)).toBe('stable')
    expect(fake.routeRequest('1', {cookies: {uid: 'u1'}}, () => 0)).toBe('gray')
    await gateway().publish(policy({revision: 'r2', weightBp: 10_000, rules: []}))
    expect(fake.routeRequest('1', {}, () => 0.99)).toBe('gray')
  })

  test('weighted_upstreams carry the weight in basis points', async () => {
    await gateway().publish(policy({weightBp: 250, rules: []}))
    const split = JSON.parse(gateway().render(policy({weightBp: 250, rules: []}))).plugins['traffic-split']
    expect(split.rules[0]).toEqual({
      match: [{vars: [['cookie_uid', '~~', '.']]}],
      weighted_upstreams: [
        {upstream: {type: 'roundrobin', nodes: {[GRAY.address]: 1}}, weight: 250},
        {upstream: {type: 'roundrobin', nodes: {[STABLE.address]: 1}}, weight: 9750},
      ],
    })
    let gray = 0
    for (let i = 0; i < 4000; i++) if (fake.routeRequest('1', {cookies: {uid: `u${i}`}}, () => i / 4000) === 'gray') gray++
    expect(gray).toBe(100)
  })

  test('plain mode sends every request, rule or not, to the stable hosts', async () => {
    await gateway().publish(policy({mode: 'plain'}))
    expect(fake.routeRequest('1', {headers: {'X-Gray': '1'}, cookies: {uid: 'u1'}})).toBe('stable')
    expect(await gateway().readBack()).toEqual({revision: 'rev 1', weightBp: 1000, mode: 'plain'})
  })

  test('sends X-API-KEY; a wrong key is a permanent error that names where to fix it', async () => {
    const error = (await gateway('nope').publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('HTTP 401')
    expect(error.message).toContain('APISIX_ADMIN_KEY')
    expect(error.message).not.toContain('nope')
    expect(fake.requests).toHaveLength(1)
  })

  test('a route that does not exist is a permanent error', async () => {
    const missing = new ApisixGateway({type: 'apisix', url: fake.url, routeId: 'nope', key: fake.key}, 'checkout', fast)
    const error = (await missing.publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('no route nope')
    expect(await missing.readBack()).toBeNull()
  })

  test('a concurrent writer between read and write makes gray start over and keep the other change', async () => {
    let writes = 0
    fake.afterGet = (id) => {
      if (writes++ === 0) {
        const current = fake.route(id) as Record<string, unknown>
        fake.setRoute(id, {...current, plugins: {...(current.plugins as object), cors: {}}})
      }
    }
    const applied = await gateway().publish(policy({revision: 'r-conflict'}))
    expect(applied.revision).toBe('r-conflict')
    const route = fake.route('1') as {plugins: Record<string, unknown>}
    expect(Object.keys(route.plugins).sort()).toEqual(['cors', 'limit-count', 'traffic-split'])
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(1)
  })

  test('retries 5xx and succeeds; publishing the same policy twice gives the same route', async () => {
    fake.failNext = [503, 500]
    await gateway().publish(policy({revision: 'same'}))
    const first = fake.route('1') as Record<string, unknown>
    await gateway().publish(policy({revision: 'same'}))
    const second = fake.route('1') as Record<string, unknown>
    delete first.update_time
    delete second.update_time
    expect(second).toEqual(first)
  })

  test('a rule without gray hosts is refused before anything is written', async () => {
    const error = (await gateway().publish(policy({gray: []})).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(fake.requests).toHaveLength(0)
  })
})

function lower(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}
