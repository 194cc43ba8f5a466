// The bfe gateway in api mode against the fake BFE API server (test/fakes/bfe.ts):
// gray's pools, sub-clusters, clusters (scheduler all on the one sub-cluster)
// and the product's forward rules are written through the documented
// endpoints; every user lands where `gray cohort` says (murmur3 % 10000),
// nested as the weight grows; rules behave as decide.ts; the revision is read
// back from the API server; a token it refuses, an ErrNum and hostile ErrMsg
// give one clear, escaped sentence; a tag (no mod_header endpoint) is refused.
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {createGateway} from '../../../src/adapters/factory.js'
import {BfeApiGateway, TAG_REFUSAL} from '../../../src/adapters/gateways/bfe/api.js'
import {configFromObject} from '../../../src/core/config/load.js'
import type {BfeApiGatewayConfig} from '../../../src/core/config/model.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'
import {errorMessage, GatewayError} from '../../../src/core/errors.js'
import {safeOutput, shown} from '../../../src/core/redact.js'
import {decide, type RequestView} from '../../../src/core/policy/decide.js'
import {BFE_MURMUR3} from '../../../src/core/policy/split.js'
import type {Policy} from '../../../src/core/ports.js'
import {startFakeBfeApi, type FakeBfeApi} from '../../fakes/bfe.js'
import {leaks, RAW_CONTROL, startPeer, type Shape} from '../../support/hostile.js'

const PRODUCT = 'shop'
let api: FakeBfeApi
let gateway: BfeApiGateway
let n = 0

const configOf = (over: Partial<BfeApiGatewayConfig> = {}): BfeApiGatewayConfig => ({type: 'bfe', mode: 'api', url: api.url, token: api.token, product: PRODUCT, bfeClusters: ['bfe-cluster1.sk'], ...over})

beforeEach(async () => {
  api = await startFakeBfeApi({product: PRODUCT})
  // a basic rule of the product's own, which gray must keep
  api.routes.basic_forward_rules = [{host_names: ['shop.example.com'], paths: [], cluster_name: 'GO_TO_ADVANCED_RULES', description: 'theirs'}]
  gateway = new BfeApiGateway(configOf(), 'checkout')
})
afterEach(() => api.close())

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: `r${++n}`,
    mode: 'split',
    weightBp: 0,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [],
    stable: [{name: 'web-1', address: '10.0.0.1:8080'}],
    gray: [{name: 'web-9', address: '10.0.0.9:8080'}],
    ...over,
  }
}

const cohort = (cluster: string) => (cluster.endsWith('_gray') ? 'gray' : 'stable')

describe('bfe gateway (api mode) on the BFE API server fake', () => {
  test('splits 20,000 users exactly as murmur3 % 10000 predicts, nested at 1%, 10%, 50%; pools, sub-clusters and schedulers as documented; read back from the API server', async () => {
    const users = Array.from({length: 20_000}, (_, i) => `u${i}`)
    let previous = new Set<string>()
    for (const weightBp of [100, 1000, 5000]) {
      const p = policy({weightBp})
      expect(await gateway.publish(p)).toEqual({revision: p.revision, mode: 'split', weightBp})
      const grayUsers = new Set(users.filter((u) => cohort(api.route({cookies: {uid: u}}).cluster) === 'gray'))
      expect(users.filter((u) => grayUsers.has(u) !== BFE_MURMUR3.inGray(u, weightBp))).toEqual([])
      for (const u of previous) expect(grayUsers.has(u)).toBe(true)
      previous = grayUsers
    }
    expect(api.pools.get('shop.gray_checkout_gray')?.instances).toEqual([{hostname: 'web-9', ip: '10.0.0.9', weight: 1, ports: {Default: 8080}}])
    expect(api.clusters.get('gray_checkout_stable')?.scheduler).toEqual({'bfe-cluster1.sk': {gray_checkout_stable_sub: 100, GSLB_BLACKHOLE: 0}})
    expect(api.route({cookies: {uid: previousGray()}}).backend).toBe('web-9')
    expect(api.routes.basic_forward_rules).toEqual([{host_names: ['shop.example.com'], paths: [], cluster_name: 'GO_TO_ADVANCED_RULES', description: 'theirs'}])
    // objects are created once, then updated in place
    expect(api.calls.filter((c) => c === 'POST /products/shop/clusters')).toHaveLength(2)
    expect(await gateway.readBack()).toEqual({revision: `r${n}`, mode: 'split', weightBp: 5000})
  })

  test('rules, the missing or empty key and 100% behave as decide.ts; plain (the rollback) sends everyone to stable', async () => {
    const rules: Policy['rules'] = [
      {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
      {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']},
      {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
      {kind: 'prefix', field: {source: 'query', name: 'build'}, value: 'beta.'},
      {kind: 'cidr', cidrs: ['10.9.0.0/16']},
    ]
    const p = policy({weightBp: 2000, rules})
    await gateway.publish(p)
    const cases: RequestView[] = [
      {headers: {'x-gray': '1'}, cookies: {}, query: {}, ip: '192.0.2.1'},
      {headers: {'x-gray': '2'}, cookies: {}, query: {}, ip: '192.0.2.1'},
      {headers: {}, cookies: {device_id: 'd-43'}, query: {}, ip: '192.0.2.1'},
      {headers: {'x-uid': '01500'}, cookies: {}, query: {}, ip: '192.0.2.1'},
      {headers: {}, cookies: {}, query: {build: 'beta.3'}, ip: '192.0.2.1'},
      {headers: {}, cookies: {}, query: {}, ip: '10.9.3.4'},
      {headers: {}, cookies: {uid: ''}, query: {}, ip: '192.0.2.1'},
      ...['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((uid) => ({headers: {}, cookies: {uid}, query: {}, ip: '192.0.2.1'})),
    ]
    for (const req of cases) expect(cohort(api.route(req).cluster), JSON.stringify(req)).toBe(decide(p, req, BFE_MURMUR3).target)
    await gateway.publish(policy({weightBp: 10_000}))
    expect(cohort(api.route({}).cluster)).toBe('gray')
    const plain = policy({mode: 'plain', weightBp: 0})
    expect(await gateway.publish(plain)).toEqual({revision: plain.revision, mode: 'plain', weightBp: 0})
    expect(cohort(api.route({headers: {'X-Gray': '1'}, cookies: {uid: previousGray()}}).cluster)).toBe('stable')
  })

  test('a tag is refused before anything is written: the API server has no mod_header endpoint', async () => {
    expect(gateway.capabilities()).toMatchObject({tag: false, stickySplit: true, tagReason: TAG_REFUSAL})
    const error = (await gateway.publish(policy({weightBp: 100, tag: {header: 'X-Gray-Tag', value: 'gray'}})).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('no endpoint for mod_header')
    expect(api.calls).toEqual([])
  })

  test('a token the API server refuses: one permanent sentence naming ErrNum and gateway.token, never the token', async () => {
    const wrong = new BfeApiGateway(configOf({token: 'not-the-token-77'}), 'checkout')
    const error = (await wrong.publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(true)
    expect(error.message).toMatch(/^BFE's API server refused GET \/open-api\/v1\/products\/shop\/instance-pools\/.*: ErrNum 401, "Authenticate Fail: Token Not Exist"\. Check gateway\.token/)
    expect(error.message).not.toContain('not-the-token-77')
    await expect(wrong.check()).rejects.toThrow('ErrNum 401')
    await expect(gateway.check()).resolves.toBeUndefined()
  })

  test('an ErrNum names ErrMsg with its controls escaped; 500 may pass (retried), 422 will not', async () => {
    await gateway.publish(policy({weightBp: 100}))
    api.failNext = {match: /^PATCH \/products\/shop\/routes$/, answer: {ErrNum: 422, ErrMsg: 'Param Illegal: \u001b[31mred\u001b[0m\nforged line\u202e'}}
    const error = (await gateway.publish(policy({weightBp: 200})).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('ErrNum 422')
    expect(error.message).toContain('\\x1B[31mred')
    // eslint-disable-next-line no-control-regex -- the point: no raw escape, line feed or bidi control
    expect(error.message).not.toMatch(/[\u0000-\u001F\u202E]/)
    api.failNext = {match: /^GET \/products\/shop\/routes$/, answer: {ErrNum: 500, ErrMsg: 'Database Exception: gone'}}
    const busy = (await gateway.readBack().catch((e: unknown) => e)) as GatewayError
    expect(busy.permanent).toBe(false)
    expect(busy.message).toContain('"Database Exception: gone"')
    // the first publish stands
    expect((await gateway.readBack())?.weightBp).toBe(100)
  })

  test('another writer between the write and the read-back: the publish fails (retryable), read-back says what is there', async () => {
    await gateway.publish(policy({weightBp: 100}))
    api.afterRoutes = (routes) => {
      for (const r of routes.forward_rules) r.description = 'gray:split:300:theirs'
    }
    const error = (await gateway.publish(policy({weightBp: 500})).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('shows revision theirs after gray wrote revision')
    api.afterRoutes = (routes) => {
      ;(routes.forward_rules[0] as {description: string}).description = 'gray:split:300:half'
    }
    await gateway.publish(policy({weightBp: 500})).catch(() => undefined)
    await expect(gateway.readBack()).rejects.toThrow('carry different revisions')
  })

  test('a fleet of two API servers, each with its own URL and token: a publish is confirmed by both', async () => {
    const second = await startFakeBfeApi({product: PRODUCT, token: 'second-token-Tt45'})
    try {
      const fleet = await createGateway({service: 'checkout', gateway: {...configOf(), instances: [{name: 'east'}, {name: 'west', url: second.url, token: second.token}]}})
      const p = policy({weightBp: 1000})
      expect(await fleet.publish(p)).toMatchObject({revision: p.revision, weightBp: 1000})
      for (const one of [api, second]) expect(one.routes.forward_rules.every((r) => r.description === `gray:split:1000:${p.revision}`)).toBe(true)
    } finally {
      await second.close()
    }
  })

  test('gray.yaml: mode api needs url, token and bfeClusters and takes no conf; files mode is unchanged', () => {
    const base = {service: 'checkout', hosts: {stable: ['10.0.0.1:8080'], gray: ['10.0.0.9:8080']}, deploy: {command: ['true']}}
    const api = configFromObject({...base, gateway: {type: 'bfe', mode: 'api', url: 'http://127.0.0.1:8183', token: '${BFE_TOKEN}', product: 'shop', bfeClusters: ['c1']}}, '/tmp/gray.yaml', {BFE_TOKEN: 'bfe-token-Kq27Xw9'})
    expect(api.gateway).toEqual({type: 'bfe', mode: 'api', url: 'http://127.0.0.1:8183', token: 'bfe-token-Kq27Xw9', product: 'shop', bfeClusters: ['c1']})
    const files = configFromObject({...base, gateway: {type: 'bfe', conf: 'bfe-conf', monitor: 'http://127.0.0.1:8421', product: 'shop'}}, '/tmp/gray.yaml', {})
    expect(files.gateway).toEqual({type: 'bfe', conf: '/tmp/bfe-conf', monitor: 'http://127.0.0.1:8421', product: 'shop'})
    const problems = (doc: unknown) => {
      try {
        configFromObject({...base, gateway: doc}, '/tmp/gray.yaml', {BFE_TOKEN: 'bfe-token-Kq27Xw9'})
      } catch (error) {
        return (error as InvalidConfigError).problems
      }
      return []
    }
    expect(problems({type: 'bfe', mode: 'api', url: 'http://127.0.0.1:8183', product: 'shop', conf: '/x'})).toEqual([
      expect.stringMatching(/^gateway\.token: must be set for mode: api/),
      expect.stringMatching(/^gateway\.bfeClusters: must be set for mode: api/),
      expect.stringMatching(/^gateway\.conf: must be left out: mode api does not use it/),
    ])
    expect(problems({type: 'bfe', conf: '/x', monitor: 'http://127.0.0.1:8421', product: 'shop', token: '${BFE_TOKEN}'})).toEqual([expect.stringMatching(/^gateway\.token: must be left out: mode files does not use it/)])
  })
})

describe('bfe api mode against a hostile API server', () => {
  const env = {BFE_T: 'bfe-"tok\\en-Rr61Qp'}
  const hostile = async (shape: Shape, options: Parameters<typeof startPeer>[1] = {}) => {
    const peer = await startPeer(shape, options)
    // loaded as gray loads gray.yaml: this registers the token as a secret
    const config = configFromObject(
      {service: 'checkout', hosts: {stable: ['10.0.0.1:8080'], gray: ['10.0.0.9:8080']}, deploy: {command: ['true']}, gateway: {type: 'bfe', mode: 'api', url: peer.url, token: '${BFE_T}', product: 'shop', bfeClusters: ['c1']}},
      '/tmp/gray.yaml',
      env,
    )
    const error = await new BfeApiGateway(config.gateway as BfeApiGatewayConfig, 'checkout', {requestTimeoutMs: 800}).readBack().catch((e: unknown) => e)
    await peer.close()
    return {error: errorMessage(error), peer}
  }

  test('an ErrMsg echoing the token and terminal escapes: the message names it, what gray prints holds neither', async () => {
    const {error, peer} = await hostile('ok-echo', {okBody: (echo) => JSON.stringify({ErrNum: 500, ErrMsg: `Biz Exception: ${echo} \u001b]0;owned\u0007`})})
    expect(peer.requests[0]?.head).toMatch(/^GET \/open-api\/v1\/products\/shop\/routes /)
    expect(error).toMatch(/^BFE's API server refused GET \/open-api\/v1\/products\/shop\/routes: ErrNum 500, "Biz Exception: /)
    expect(error).not.toMatch(RAW_CONTROL)
    // the threat is real: the peer's words, the token among them, reached the message
    expect(leaks(error, [env.BFE_T]).length).toBeGreaterThan(0)
    expect(leaks(shown(error), [env.BFE_T])).toEqual([])
    expect(leaks(safeOutput(error), [env.BFE_T])).toEqual([])
  })

  test('an answer that trickles fails at its total deadline; one of 50 MB is refused past the cap', async () => {
    expect((await hostile('trickle')).error).toMatch(/^BFE's API server at http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.8 s\.$/)
    expect((await hostile('huge')).error).toMatch(/sent an answer larger than 4 MiB/)
  })
})

function previousGray(): string {
  for (let i = 0; ; i++) if (BFE_MURMUR3.inGray(`u${i}`, 100)) return `u${i}`
}
