import {describe, expect, test} from 'vitest'
import type {Tag} from '../../../src/core/config/model.js'
import {ConfigError} from '../../../src/core/errors.js'
import {decide, type RequestView} from '../../../src/core/policy/decide.js'
import {plainRoutePolicy, tagRoutePolicy, tagRule, type DownstreamRoute} from '../../../src/core/release/tag-route.js'

const api: DownstreamRoute = {
  service: 'api',
  stable: [
    {name: 'api-1', address: '10.0.1.1:8080'},
    {name: 'api-2', address: '10.0.1.2:8080'},
  ],
  gray: [{name: 'api-9', address: '10.0.1.9:8080'}],
  sticky: {kind: 'cookie', name: 'uid'},
}
const tag: Tag = {header: 'X-Gray-Tag', value: 'rel-7'}
const at = {runId: '20261204T224200000Z-a1b2c3', lastSeq: 4}

function request(headers: Record<string, string> = {}, cookies: Record<string, string> = {}): RequestView {
  return {headers, cookies, query: {}, ip: '192.0.2.1'}
}

describe('tagRoutePolicy', () => {
  test('routes only by the tag: split at weight 0, one equals rule on the tag header, the same tag, the hosts as given', () => {
    const policy = tagRoutePolicy(api, tag, at)
    expect(policy).toEqual({
      service: 'api',
      revision: expect.stringMatching(/^20261204T224200000Z-a1b2c3\.5\.tag-[0-9a-f]{12}$/),
      mode: 'split',
      weightBp: 0,
      sticky: {kind: 'cookie', name: 'uid'},
      rules: [{kind: 'equals', field: {source: 'header', name: 'X-Gray-Tag'}, value: 'rel-7'}],
      tag: {header: 'X-Gray-Tag', value: 'rel-7'},
      stable: api.stable,
      gray: api.gray,
    })
    expect(Object.keys(policy)).not.toContain('seed')
    expect(policy.rules).toEqual([tagRule(tag)])
  })

  test('decide() sends a request with the tag to gray, and one without it or with another value to stable', () => {
    const policy = tagRoutePolicy(api, tag, at)
    expect(decide(policy, request({'x-gray-tag': 'rel-7'})).target).toBe('gray')
    expect(decide(policy, request({'x-gray-tag': 'rel-7'})).reason).toEqual({kind: 'rule', index: 0, rule: tagRule(tag)})
    expect(decide(policy, request()).target).toBe('stable')
    expect(decide(policy, request({'x-gray-tag': 'rel-8'})).target).toBe('stable')
    expect(decide(policy, request({'x-gray-tag': 'rel-7 '})).target).toBe('stable')
    expect(decide(policy, request({'x-gray-tag': ''})).target).toBe('stable')
    expect(decide(policy, request({'x-gray': 'rel-7'})).target).toBe('stable')
    // the sticky key decides nothing at weight 0: no user is in gray without the tag
    for (let i = 0; i < 500; i++) expect(decide(policy, request({}, {uid: `u${i}`})).target).toBe('stable')
  })

  test('a sticky key object with its keys in another order, or hosts with more fields, give the same policy', () => {
    const same = tagRoutePolicy(
      {
        service: 'api',
        stable: api.stable.map((h) => ({address: h.address, name: h.name, weight: 3}) as never),
        gray: api.gray,
        sticky: {name: 'uid', kind: 'cookie'},
      },
      {value: 'rel-7', header: 'X-Gray-Tag'},
      {lastSeq: 4, runId: at.runId},
    )
    expect(same).toEqual(tagRoutePolicy(api, tag, at))
  })

  test('the revision changes when any input changes', () => {
    const base = tagRoutePolicy(api, tag, at).revision
    const variants = [
      tagRoutePolicy({...api, service: 'data'}, tag, at),
      tagRoutePolicy({...api, stable: api.stable.slice(0, 1)}, tag, at),
      tagRoutePolicy({...api, stable: [...api.stable].reverse()}, tag, at),
      tagRoutePolicy({...api, gray: [{name: 'api-9', address: '10.0.1.9:8081'}]}, tag, at),
      tagRoutePolicy({...api, gray: [{name: 'api-10', address: '10.0.1.9:8080'}]}, tag, at),
      tagRoutePolicy({...api, sticky: {kind: 'header', name: 'uid'}}, tag, at),
      tagRoutePolicy({...api, sticky: {kind: 'ip'}}, tag, at),
      tagRoutePolicy(api, {...tag, value: 'rel-8'}, at),
      tagRoutePolicy(api, {...tag, header: 'X-Release'}, at),
      tagRoutePolicy(api, tag, {...at, lastSeq: 5}),
      tagRoutePolicy(api, tag, {...at, runId: 'another'}),
      plainRoutePolicy(api, at),
    ].map((p) => p.revision)
    expect(variants.filter((r) => r === base)).toEqual([])
    expect(new Set(variants).size).toBe(variants.length)
    expect(tagRoutePolicy(api, tag, at).revision).toBe(base)
  })

  test('refuses a downstream it cannot route by the tag, naming the service', () => {
    expect(() => tagRoutePolicy({...api, gray: []}, tag, at)).toThrow(ConfigError)
    expect(() => tagRoutePolicy({...api, gray: []}, tag, at)).toThrow(/api cannot route by the tag: it lists no gray hosts/)
    expect(() => tagRoutePolicy({...api, stable: []}, tag, at)).toThrow(/api has no stable hosts/)
    expect(() => tagRoutePolicy(api, {header: 'X-Gray-Tag', value: ''}, at)).toThrow(/needs a header and a value/)
    expect(() => tagRoutePolicy(api, {header: '', value: 'rel-7'}, at)).toThrow(/needs a header and a value/)
  })
})

describe('plainRoutePolicy', () => {
  test('the plain form: one upstream of the stable hosts, no rules, no tag, weight 0', () => {
    const policy = plainRoutePolicy(api, at)
    expect(policy).toEqual({
      service: 'api',
      revision: expect.stringMatching(/^20261204T224200000Z-a1b2c3\.5\.plain-[0-9a-f]{12}$/),
      mode: 'plain',
      weightBp: 0,
      sticky: {kind: 'cookie', name: 'uid'},
      rules: [],
      stable: api.stable,
      gray: [],
    })
    expect(Object.keys(policy)).not.toContain('tag')
  })

  test('serves the hosts it is given (completion: every host on the new version)', () => {
    const every = [...api.gray, ...api.stable]
    const policy = plainRoutePolicy(api, at, every)
    expect(policy.stable).toEqual(every)
    expect(policy.revision).not.toBe(plainRoutePolicy(api, at).revision)
  })

  test('decide() sends every request to stable, the tagged ones too', () => {
    const policy = plainRoutePolicy(api, at)
    expect(decide(policy, request({'x-gray-tag': 'rel-7'}, {uid: 'u1'}))).toEqual({target: 'stable', reason: {kind: 'plain'}})
    expect(decide(policy, request()).target).toBe('stable')
  })

  test('the tag route and its plain form at the same place in the journal have different revisions', () => {
    expect(plainRoutePolicy(api, at).revision).not.toBe(tagRoutePolicy(api, tag, at).revision)
    expect(plainRoutePolicy(api, at).revision).toBe(plainRoutePolicy(api, at).revision)
    expect(plainRoutePolicy(api, {...at, lastSeq: 9}).revision).not.toBe(plainRoutePolicy(api, at).revision)
  })

  test('refuses an empty upstream', () => {
    expect(() => plainRoutePolicy(api, at, [])).toThrow(/api has no stable hosts/)
  })
})
