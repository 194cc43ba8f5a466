// Rotating cohorts: a run's cohort seed is chosen once, frozen in run.started,
// carried by every split the run publishes (a takeover's too), and absent
// under traffic.rotate: false, where the split hashes the key alone as before.
import {describe, expect, it} from 'vitest'

import {cohortPolicy} from '../../../src/cohort/index.js'
import {newCohortSeed, runStarted} from '../../../src/core/run/begin.js'
import {plainPolicy, splitPolicy} from '../../../src/core/run/policy.js'
import {replay} from '../../../src/core/run/state.js'
import {decide} from '../../../src/core/policy/decide.js'
import {fromDocument, PolicyDocumentError, toDocument} from '../../../src/core/policy/document.js'
import {bucketOf, SEED_PATTERN} from '../../../src/core/policy/hash.js'
import {BFE_MURMUR3, HAPROXY_XXH32, SPLIT_CLIENTS} from '../../../src/core/policy/split.js'
import {bfeBucket} from '../../../src/core/policy/murmur3.js'
import {xxh32} from '../../../src/core/policy/xxh32.js'
import {grayBuckets, splitCond} from '../../../src/adapters/gateways/bfe/render.js'
import type {JournalEvent, Policy} from '../../../src/core/ports.js'
import {renderInclude} from '../../../src/adapters/gateways/nginx/render.js'
import {renderFragment, renderStateMap, stateOf} from '../../../src/adapters/gateways/haproxy/render.js'
import {ruleSupportErrors} from '../../../src/core/config/validate.js'
import {harness} from '../../support/harness.js'
import {testConfig} from '../../support/fakes.js'

const event = (data: unknown): JournalEvent => ({seq: 1, at: '2026-12-03T00:00:00.000Z', type: 'run.started', data}) as unknown as JournalEvent

const users = Array.from({length: 20_000}, (_, i) => `u${i}`)
const view = (uid: string) => ({headers: {}, cookies: {uid}, query: {}, ip: '127.0.0.1'})
const base: Policy = {service: 'shop', revision: 'r', mode: 'split', weightBp: 1000, sticky: {kind: 'cookie', name: 'uid'}, rules: [], stable: [{name: 's', address: '127.0.0.1:9'}], gray: [{name: 'g', address: '127.0.0.1:10'}]}

describe('the cohort seed', () => {
  it('is 8 random hex digits, different for each new run', () => {
    const seeds = new Set(Array.from({length: 50}, () => newCohortSeed()))
    for (const seed of seeds) expect(seed).toMatch(SEED_PATTERN)
    expect(seeds.size).toBe(50)
  })

  it('is frozen in run.started and replayed into the state; every split the run publishes carries it, the plain policy needs none', () => {
    const config = testConfig()
    const started = runStarted(config, 'run-1', 'v2', 'v1', '0badf00d')
    expect(started.cohortSeed).toBe('0badf00d')
    const state = replay([event(started)])
    expect(state.cohortSeed).toBe('0badf00d')
    expect(splitPolicy(config, state, {weightBp: 1000, rules: true}).seed).toBe('0badf00d')
    expect(splitPolicy(config, state, {weightBp: 0, rules: false}).seed).toBe('0badf00d')
    expect(plainPolicy(config, state).seed).toBeUndefined()
  })

  it('is absent under traffic.rotate: false and in a run from before seeds: the split hashes the key alone, as it always did', () => {
    const config = testConfig()
    const started = runStarted(config, 'run-1', 'v2', 'v1')
    expect('cohortSeed' in started).toBe(false)
    const state = replay([event(started)])
    expect(state.cohortSeed).toBeNull()
    const policy = splitPolicy(config, state, {weightBp: 1000, rules: true})
    expect('seed' in policy).toBe(false)
    expect('seed' in toDocument(policy)).toBe(false)
    for (const uid of users.slice(0, 500)) {
      const d = decide(policy, view(uid))
      expect(d.reason.kind === 'weight' && d.reason.bucket).toBe(bucketOf(uid))
    }
  })

  it('stays the same through the whole run and a takeover: every publish, before and after a new driver, has the seed run.started froze', async () => {
    const h = harness({steps: [{weight: 10, bakeMs: 60_000, pause: true}, {weight: 50, bakeMs: 60_000, pause: false}, {weight: 100, bakeMs: 60_000, pause: false}]})
    await h.begin('v2', 'v1', 'c0ffee42')
    const held = await h.clock.run(h.driver().drive())
    expect(held.exitCode).toBe(4)
    const before = h.gateway.published.length
    expect(before).toBeGreaterThan(0)
    h.inbox.post('promote')
    const done = await h.resume()
    expect(done.exitCode).toBe(0)
    expect(h.gateway.published.length).toBeGreaterThan(before)
    const splits = h.gateway.published.filter((p) => p.mode === 'split')
    expect(splits.map((p) => p.weightBp)).toEqual(expect.arrayContaining([1000, 5000, 10_000]))
    expect(new Set(splits.map((p) => p.seed))).toEqual(new Set(['c0ffee42']))
    expect(h.state().cohortSeed).toBe('c0ffee42')
  })
})

describe('the seeded split', () => {
  it('hashes the seed followed by the key on nginx and HAProxy; BFE turns its bucket ring by the seed', () => {
    const seed = '3f9a1c07'
    for (const uid of users.slice(0, 200)) {
      expect(SPLIT_CLIENTS.bucketOf(uid, seed)).toBe(bucketOf(`${seed}${uid}`))
      expect(HAPROXY_XXH32.bucketOf(uid, seed)).toBe(xxh32(Buffer.from(`${seed}${uid}`)) % 10_000)
      expect(BFE_MURMUR3.bucketOf(uid, seed)).toBe((bfeBucket(uid) - (0x3f9a1c07 % 10_000) + 10_000) % 10_000)
      // no seed: the key alone
      expect(SPLIT_CLIENTS.bucketOf(uid)).toBe(bucketOf(uid))
      expect(BFE_MURMUR3.bucketOf(uid)).toBe(bfeBucket(uid))
    }
  })

  it('BFE: gray takes the weight buckets from the seed\'s offset, wrapping at 10000', () => {
    expect(grayBuckets(1000)).toBe('0-999')
    expect(grayBuckets(1000, '00000c1c')).toBe('3100-4099') // 0xc1c = 3100
    expect(grayBuckets(1000, '00002454')).toBe('9300-9999|0-299') // 0x2454 = 9300
    expect(splitCond({kind: 'cookie', name: 'uid'}, 1000, '00002454')).toBe('!req_cookie_value_in("uid", "", false) && req_cookie_value_hash_in("uid", "9300-9999|0-299", false)')
    // the ring's buckets gray takes are exactly those the library calls gray
    const seed = '00002454'
    for (const uid of users.slice(0, 2000)) {
      const b = bfeBucket(uid)
      expect(BFE_MURMUR3.inGray(uid, 1000, seed)).toBe(b >= 9300 || b < 300)
    }
  })

  it.each([
    ['nginx', SPLIT_CLIENTS],
    ['haproxy', HAPROXY_XXH32],
    ['bfe', BFE_MURMUR3],
  ] as const)('%s: one seed nests as the weight grows; two seeds pick different users, about 1%% of users in both at 10%%', (gateway, split) => {
    const grayAt = (weightBp: number, seed?: string) => new Set(users.filter((u) => split.inGray(u, weightBp, seed)))
    const a10 = grayAt(1000, '3f9a1c07')
    const a50 = grayAt(5000, '3f9a1c07')
    expect([...a10].filter((u) => !a50.has(u))).toEqual([])
    expect(Math.abs(a10.size / users.length - 0.1)).toBeLessThan(0.01)
    if (gateway === 'bfe') {
      // the ring turns: two offsets 3000 apart share none of their 10% windows
      const b10 = grayAt(1000, '00000bb8') // offset 3000; 0x3f9a1c07 % 10000 is 4327
      expect([...a10].filter((u) => b10.has(u))).toEqual([])
      return
    }
    const b10 = grayAt(1000, 'c0ffee42')
    const both = [...a10].filter((u) => b10.has(u)).length / users.length
    expect(both).toBeGreaterThan(0.005)
    expect(both).toBeLessThan(0.015)
  })

  it('the policy document carries the seed; the library decides with it, and refuses one that is not 8 hex digits', () => {
    const seeded = {...base, seed: '3f9a1c07'}
    const doc = JSON.parse(JSON.stringify(toDocument(seeded))) as Record<string, unknown>
    expect(doc.seed).toBe('3f9a1c07')
    expect(fromDocument(doc).seed).toBe('3f9a1c07')
    const library = cohortPolicy(doc, {gateway: 'haproxy'})
    expect(library.seed).toBe('3f9a1c07')
    for (const uid of users.slice(0, 500)) {
      expect(library.decide({uid}).bucket).toBe(HAPROXY_XXH32.bucketOf(uid, '3f9a1c07'))
      expect(library.decide({uid}).cohort).toBe(decide(seeded, view(uid), HAPROXY_XXH32).target)
    }
    expect(cohortPolicy(toDocument(base)).seed).toBeNull()
    expect(() => fromDocument({...doc, seed: 'XYZ'})).toThrow(PolicyDocumentError)
    expect(() => fromDocument({...doc, seed: 'XYZ'})).toThrow(/at seed: must be 8 lowercase hex digits/)
  })
})

describe('the gateways write the seed with their own means', () => {
  const seeded: Policy = {...base, seed: '3f9a1c07'}

  it('nginx: split_clients hashes the seed followed by the key; without one, the key alone as before', () => {
    const options = {variable: 'gray_shop_upstream', statusSocket: '/tmp/gray-shop.sock'}
    expect(renderInclude(seeded, options)).toContain('split_clients "3f9a1c07${cookie_uid}" $gray_shop_upstream_split {')
    expect(renderInclude(base, options)).toContain('split_clients "${cookie_uid}" $gray_shop_upstream_split {')
    expect(() => renderInclude({...base, seed: '"; evil'}, options)).toThrow(/not 8 hex digits/)
  })

  it('HAProxy: the seed lives in the state map while a split is in force, and the fragment hashes it in front of the key', () => {
    expect(stateOf(seeded).seed).toBe('3f9a1c07')
    expect(renderStateMap(stateOf(seeded))).toContain('\nseed 3f9a1c07\n')
    expect('seed' in stateOf(base)).toBe(false)
    expect('seed' in stateOf({...seeded, mode: 'plain'})).toBe(false)
    const fragment = renderFragment('shop', {bind: ['127.0.0.1:8080'], sticky: base.sticky, rules: [], tag: null, stable: base.stable, gray: base.gray}, '/tmp/.shop.gray.map')
    expect(fragment).toContain('http-request set-var(txn.gray_salt) str(seed),map(/tmp/.shop.gray.map)')
    expect(fragment).toContain('str(),concat(,txn.gray_salt,),concat(,txn.gray_key,),xxh32,mod(10000)')
  })

  it('validate asks for traffic.rotate: false where a sticky split cannot take a seed, and not where rotate is off or nothing hashes', () => {
    const config = testConfig()
    const caps = {rules: [], sticky: ['cookie' as const, 'header' as const, 'query' as const, 'ip' as const], stickySplit: true, tag: true, cohortSeed: false}
    expect(ruleSupportErrors(config, caps).join('\n')).toMatch(/traffic\.rotate: must be false: .* cannot take a run's cohort seed/)
    expect(ruleSupportErrors({...config, traffic: {...config.traffic, rotate: false}}, caps).join('\n')).not.toContain('rotate')
    expect(ruleSupportErrors(config, {...caps, stickySplit: false}).join('\n')).not.toContain('rotate')
    expect(ruleSupportErrors(config, {...caps, cohortSeed: true}).join('\n')).not.toContain('rotate')
  })
})
