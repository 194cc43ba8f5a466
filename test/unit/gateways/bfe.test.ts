// The bfe gateway against the BFE fake (test/fakes/bfe.ts): the files gray
// writes load in BFE's formats, route every user where `gray cohort` says
// (murmur3 % 10000), nest as the weight grows, apply the rules and the tag as
// decide.ts, keep what else the files hold, and are put back when BFE refuses.
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {BfeGateway} from '../../../src/adapters/gateways/bfe/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import {decide, type RequestView} from '../../../src/core/policy/decide.js'
import {BFE_MURMUR3} from '../../../src/core/policy/split.js'
import type {Policy} from '../../../src/core/ports.js'
import {startFakeBfe, type FakeBfe} from '../../fakes/bfe.js'

const PRODUCT = 'shop'
let conf: string
let bfe: FakeBfe
let gateway: BfeGateway
let n = 0

beforeEach(async () => {
  conf = await mkdtemp(join(tmpdir(), 'gray-bfe-'))
  for (const dir of ['server_data_conf', 'cluster_conf', 'mod_header']) await mkdir(join(conf, dir))
  // another product's rules and cluster, which gray must keep
  await writeFile(join(conf, 'server_data_conf/route_rule.data'), JSON.stringify({Version: 'x', ProductRule: {other: [{Cond: 'default_t()', ClusterName: 'c_other'}]}}))
  await writeFile(join(conf, 'server_data_conf/cluster_conf.data'), JSON.stringify({Version: 'x', Config: {c_other: {}}}))
  await writeFile(join(conf, 'cluster_conf/cluster_table.data'), JSON.stringify({Version: 'x', Config: {c_other: {'c_other.all': [{Name: 'o', Addr: '10.0.0.9', Port: 80, Weight: 1}]}}}))
  await writeFile(join(conf, 'cluster_conf/gslb.data'), JSON.stringify({Hostname: '', Ts: 'x', Clusters: {c_other: {GSLB_BLACKHOLE: 0, 'c_other.all': 100}}}))
  await writeFile(join(conf, 'mod_header/header_rule.data'), JSON.stringify({Version: 'x', Config: {}}))
  bfe = await startFakeBfe(conf)
  gateway = new BfeGateway({type: 'bfe', conf, monitor: bfe.monitor, product: PRODUCT}, 'checkout')
})
afterEach(async () => {
  await bfe.close()
  await rm(conf, {recursive: true, force: true})
})

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: `r${++n}`,
    mode: 'split',
    weightBp: 0,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [],
    tag: {header: 'X-Gray-Tag', value: 'gray'},
    stable: [{name: 'web-1', address: '10.0.0.1:8080'}],
    gray: [{name: 'web-9', address: '10.0.0.9:8080'}],
    ...over,
  }
}

const cohort = (cluster: string) => (cluster.endsWith('_gray') ? 'gray' : 'stable')

describe('bfe gateway (files mode) on the BFE fake', () => {
  test('splits 20,000 users exactly as murmur3 % 10000 predicts, nested at 1%, 10%, 50%; reads back what BFE loaded', async () => {
    const users = Array.from({length: 20_000}, (_, i) => `u${i}`)
    let previous = new Set<string>()
    for (const weightBp of [100, 1000, 5000]) {
      const p = policy({weightBp})
      expect(await gateway.publish(p)).toEqual({revision: p.revision, mode: 'split', weightBp})
      const grayUsers = new Set(users.filter((u) => cohort(bfe.route(PRODUCT, {cookies: {uid: u}}).cluster) === 'gray'))
      expect(users.filter((u) => grayUsers.has(u) !== BFE_MURMUR3.inGray(u, weightBp))).toEqual([])
      expect(Math.abs(grayUsers.size / users.length - weightBp / 10_000)).toBeLessThan(0.005)
      for (const u of previous) expect(grayUsers.has(u)).toBe(true)
      previous = grayUsers
    }
    expect(bfe.reloads.slice(0, 3)).toEqual(['server_data_conf', 'gslb_data_conf', 'mod_header'])
    // the other product is still there
    expect(bfe.route('other', {}).cluster).toBe('c_other')
  })

  test('rules, the missing or empty key, 100%, and the tag only on gray requests behave as decide.ts', async () => {
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
      {headers: {'x-uid': '15x'}, cookies: {}, query: {}, ip: '192.0.2.1'},
      {headers: {}, cookies: {}, query: {build: 'beta.3'}, ip: '192.0.2.1'},
      {headers: {}, cookies: {}, query: {}, ip: '10.9.3.4'},
      {headers: {}, cookies: {uid: ''}, query: {}, ip: '192.0.2.1'},
      {headers: {'x-gray-tag': 'forged'}, cookies: {}, query: {}, ip: '192.0.2.1'},
      ...['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((uid) => ({headers: {}, cookies: {uid}, query: {}, ip: '192.0.2.1'})),
    ]
    for (const req of cases) {
      const routed = bfe.route(PRODUCT, req)
      const expected = decide(p, req, BFE_MURMUR3).target
      expect(cohort(routed.cluster), JSON.stringify(req)).toBe(expected)
      expect(routed.headers['X-Gray-Tag'] ?? routed.headers['x-gray-tag'], JSON.stringify(req)).toBe(expected === 'gray' ? 'gray' : undefined)
    }
    await gateway.publish(policy({weightBp: 10_000}))
    expect(cohort(bfe.route(PRODUCT, {}).cluster)).toBe('gray')
    await gateway.publish(policy({weightBp: 0, rules: []}))
    expect(cohort(bfe.route(PRODUCT, {headers: {'X-Gray': '1'}, cookies: {uid: previousGray()}}).cluster)).toBe('stable')
  })

  test('a reload BFE refuses puts every file back and fails permanently', async () => {
    await gateway.publish(policy({weightBp: 100}))
    const before = await readFile(join(conf, 'server_data_conf/route_rule.data'), 'utf8')
    bfe.rejectNext = 'gslb_data_conf'
    const error = (await gateway.publish(policy({weightBp: 5000})).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('injected failure')
    expect(await readFile(join(conf, 'server_data_conf/route_rule.data'), 'utf8')).toBe(before)
    expect((await gateway.readBack())?.weightBp).toBe(100)
  })

  test('a monitor port that does not answer: one sentence naming gateway.monitor, retryable', async () => {
    const away = new BfeGateway({type: 'bfe', conf, monitor: 'http://127.0.0.1:1', product: PRODUCT}, 'checkout')
    const error = (await away.readBack().catch((e: unknown) => e)) as GatewayError
    expect(error.message).toBe("BFE's monitor at http://127.0.0.1:1 could not be reached: ECONNREFUSED; check gateway.monitor (BFE must run with its monitor port there).")
    expect(error.permanent).toBe(false)
  })

  test('refuses a rule value with "|", which BFE reads as a list separator', async () => {
    await expect(gateway.publish(policy({rules: [{kind: 'equals', field: {source: 'header', name: 'X-A'}, value: 'a|b'}]}))).rejects.toThrow('list separator')
  })
})

function previousGray(): string {
  for (let i = 0; ; i++) if (BFE_MURMUR3.inGray(`u${i}`, 100)) return `u${i}`
}
