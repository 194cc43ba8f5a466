// The shenyu gateway against the ShenYu Admin API fake (test/fakes/shenyu.ts):
// rules send matching requests to the gray upstreams, the weight is a
// per-request share (not sticky), plain and 100% behave, read-back comes from
// the Admin API, and what ShenYu cannot express is refused naming why.
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {gatewayCapabilities} from '../../../src/adapters/gateways/capabilities.js'
import {ShenyuGateway} from '../../../src/adapters/gateways/shenyu/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import type {Policy} from '../../../src/core/ports.js'
import {startFakeShenyu, type FakeShenyu, type ShenyuRequest} from '../../fakes/shenyu.js'

let shenyu: FakeShenyu
let gateway: ShenyuGateway
let n = 0
beforeEach(async () => {
  shenyu = await startFakeShenyu()
  gateway = new ShenyuGateway({type: 'shenyu', url: shenyu.url, userName: 'admin', password: shenyu.password}, 'checkout')
})
afterEach(() => shenyu.close())

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

/** a seeded generator, so the per-request share is checked without flakiness */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

describe('shenyu gateway (divide plugin) on the Admin API fake', () => {
  test('rules on header, cookie, query and IP go to gray; everything else by per-request weight; read back from the Admin API', async () => {
    const p = policy({
      weightBp: 1000,
      rules: [
        {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
        {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd.43']},
        {kind: 'prefix', field: {source: 'query', name: 'build'}, value: 'beta.'},
        {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
        {kind: 'cidr', cidrs: ['10.9.0.0/16']},
      ],
    })
    expect(await gateway.publish(p)).toEqual({revision: p.revision, mode: 'split', weightBp: 1000})
    // the weighted pick's first upstream (stable in the main selector), so only a rule can send a request to gray
    const never = () => 0
    const hits: ShenyuRequest[] = [{headers: {'X-Gray': '1'}}, {cookies: {device_id: 'd.43'}}, {query: {build: 'beta.2'}}, {headers: {'x-uid': '1500'}}, {ip: '10.9.1.2'}]
    for (const req of hits) {
      expect(shenyu.route(req, never)?.gray, JSON.stringify(req)).toBe(true)
    }
    const misses: ShenyuRequest[] = [{cookies: {device_id: 'd-43x'}}, {headers: {'x-uid': '2000'}}, {ip: '10.10.1.2'}, {cookies: {device_id: 'dx43'}}]
    for (const req of misses) {
      expect(shenyu.route(req, never)?.gray, JSON.stringify(req)).toBe(false)
    }
    // 10% of requests, whoever sends them: the same user lands on both sides
    const random = lcg(7)
    const sides = Array.from({length: 20_000}, () => shenyu.route({cookies: {uid: 'u42'}}, random)?.gray)
    const share = sides.filter(Boolean).length / sides.length
    expect(Math.abs(share - 0.1)).toBeLessThan(0.01)
  })

  test('a rollback switches the rules selector off and sends everything to stable; 100% sends everything to gray', async () => {
    await gateway.publish(policy({weightBp: 10_000, rules: [{kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'}]}))
    expect(shenyu.route({}, () => 0.5)?.gray).toBe(true)
    const rollback = policy({weightBp: 0, rules: []})
    expect((await gateway.publish(rollback)).revision).toBe(rollback.revision)
    expect(shenyu.route({headers: {'X-Gray': '1'}}, () => 0)?.gray).toBe(false)
    expect(shenyu.selectors.size).toBe(2)
    expect(shenyu.rules.size).toBe(2)
  })

  test('refuses, naming why, what ShenYu cannot say: a tag, an IP range off an octet boundary; and the split is not sticky', async () => {
    await expect(gateway.publish(policy({tag: {header: 'X-Gray-Tag', value: 'gray'}}))).rejects.toThrow('cannot set a header only on requests')
    const error = (await gateway.publish(policy({rules: [{kind: 'cidr', cidrs: ['10.9.0.0/20']}]})).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('/8, /16, /24 or /32')
    expect(gatewayCapabilities('shenyu')).toMatchObject({stickySplit: false, tag: false})
    expect(shenyu.selectors.size).toBe(0)
  })

  test('a wrong password is a permanent error naming the keys to check', async () => {
    const wrong = new ShenyuGateway({type: 'shenyu', url: shenyu.url, userName: 'admin', password: 'nope-nope'}, 'checkout')
    await expect(wrong.publish(policy())).rejects.toThrow('check gateway.userName and gateway.password')
  })
})
