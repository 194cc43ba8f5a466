import {describe, expect, test} from 'vitest'
import type {Rule} from '../../../src/core/config/model.js'
import {canonicalIp, decide, parseCookies, parseQuery, type RequestView} from '../../../src/core/policy/decide.js'
import {inGray} from '../../../src/core/policy/hash.js'
import type {Policy} from '../../../src/core/ports.js'

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: 'r1',
    mode: 'split',
    weightBp: 0,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [],
    stable: [{name: 's1', address: '127.0.0.1:1'}],
    gray: [{name: 'g1', address: '127.0.0.1:2'}],
    ...over,
  }
}

function request(over: Partial<RequestView> = {}): RequestView {
  return {headers: {}, cookies: {}, query: {}, ip: '192.0.2.1', ...over}
}

const uidHeader = {source: 'header', name: 'X-Uid'} as const

describe('rules', () => {
  const cases: [string, Rule, Partial<RequestView>, boolean][] = [
    ['equals on a header, by case-insensitive name', {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'}, {headers: {'x-gray': '1'}}, true],
    ['equals is exact', {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'}, {headers: {'x-gray': '10'}}, false],
    ['in a cookie list', {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']}, {cookies: {device_id: 'd-43'}}, true],
    ['not in the list', {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42']}, {cookies: {device_id: 'd-4'}}, false],
    ['prefix of a query value', {kind: 'prefix', field: {source: 'query', name: 'team'}, value: 'qa-'}, {query: {team: 'qa-east'}}, true],
    ['prefix does not match inside', {kind: 'prefix', field: {source: 'query', name: 'team'}, value: 'qa-'}, {query: {team: 'east-qa-'}}, false],
    ['range includes its low end', {kind: 'range', field: uidHeader, min: 1000, max: 1999}, {headers: {'x-uid': '1000'}}, true],
    ['range includes its high end', {kind: 'range', field: uidHeader, min: 1000, max: 1999}, {headers: {'x-uid': '1999'}}, true],
    ['range excludes above', {kind: 'range', field: uidHeader, min: 1000, max: 1999}, {headers: {'x-uid': '2000'}}, false],
    ['range ignores non-integers', {kind: 'range', field: uidHeader, min: 1000, max: 1999}, {headers: {'x-uid': '1500.5'}}, false],
    ['range ignores hex', {kind: 'range', field: uidHeader, min: 0, max: 100}, {headers: {'x-uid': '0x10'}}, false],
    ['range ignores blanks', {kind: 'range', field: uidHeader, min: 0, max: 100}, {headers: {'x-uid': ''}}, false],
    ['range takes negative integers', {kind: 'range', field: uidHeader, min: -5, max: 5}, {headers: {'x-uid': '-3'}}, true],
    ['a missing field never matches', {kind: 'equals', field: {source: 'cookie', name: 'x'}, value: ''}, {}, false],
    ['inherited names are not fields', {kind: 'prefix', field: {source: 'cookie', name: 'constructor'}, value: 'f'}, {cookies: {}}, false],
    ['cidr IPv4', {kind: 'cidr', cidrs: ['10.9.0.0/16']}, {ip: '10.9.3.4'}, true],
    ['cidr IPv4 outside', {kind: 'cidr', cidrs: ['10.9.0.0/16']}, {ip: '10.10.3.4'}, false],
    ['cidr IPv4-mapped client against an IPv4 range', {kind: 'cidr', cidrs: ['10.9.0.0/16']}, {ip: '::ffff:10.9.0.7'}, true],
    ['cidr IPv6', {kind: 'cidr', cidrs: ['192.0.2.0/24', '2001:db8::/32']}, {ip: '2001:db8:0:1::5'}, true],
    ['cidr IPv6 outside', {kind: 'cidr', cidrs: ['2001:db8::/32']}, {ip: '2001:db9::1'}, false],
    ['cidr IPv4 client against an IPv4-mapped range', {kind: 'cidr', cidrs: ['::ffff:10.0.0.0/104']}, {ip: '10.1.2.3'}, true],
    ['cidr with a garbage client address', {kind: 'cidr', cidrs: ['0.0.0.0/0']}, {ip: 'not-an-ip'}, false],
  ]

  test.each(cases)('%s', (_name, rule, view, matches) => {
    const decision = decide(policy({rules: [rule]}), request(view))
    expect(decision.target).toBe(matches ? 'gray' : 'stable')
    if (matches) expect(decision.reason).toEqual({kind: 'rule', index: 0, rule})
  })

  test('any matching rule sends to gray, at weight 0, and names the first match', () => {
    const rules: Rule[] = [
      {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
      {kind: 'cidr', cidrs: ['10.0.0.0/8']},
    ]
    const decision = decide(policy({weightBp: 0, rules}), request({ip: '10.1.1.1'}))
    expect(decision).toEqual({target: 'gray', reason: {kind: 'rule', index: 1, rule: rules[1]}})
  })
})

describe('split', () => {
  test('plain mode sends everything to stable, rules or not', () => {
    const decision = decide(policy({mode: 'plain', weightBp: 10_000, rules: [{kind: 'cidr', cidrs: ['0.0.0.0/0']}]}), request({cookies: {uid: 'u'}}))
    expect(decision).toEqual({target: 'stable', reason: {kind: 'plain'}})
  })

  test.each([undefined, ''])('a missing or empty key (%j) stays on stable below full weight, and goes to gray at 100%%', (uid) => {
    const cookies: Record<string, string> = uid === undefined ? {} : {uid}
    const decision = decide(policy({weightBp: 9_999}), request({cookies}))
    expect(decision.target).toBe('stable')
    expect(decision.reason.kind).toBe('no-key')
    expect(decide(policy({weightBp: 10_000}), request({cookies})).target).toBe('gray')
  })

  test('the key decides with the nginx split', () => {
    const users = Array.from({length: 500}, (_, i) => `u${i}`)
    for (const uid of users) {
      const decision = decide(policy({weightBp: 2500}), request({cookies: {uid}}))
      expect(decision.target).toBe(inGray(uid, 2500) ? 'gray' : 'stable')
      expect(decision.reason).toMatchObject({kind: 'weight', key: uid, weightBp: 2500, inGray: decision.target === 'gray'})
    }
    const grayCount = users.filter((uid) => decide(policy({weightBp: 2500}), request({cookies: {uid}})).target === 'gray').length
    expect(grayCount).toBeGreaterThan(75)
    expect(grayCount).toBeLessThan(175)
  })

  test('header and query keys', () => {
    const byHeader = decide(policy({weightBp: 10_000, sticky: {kind: 'header', name: 'X-User'}}), request({headers: {'x-user': 'user-42'}}))
    expect(byHeader.reason).toMatchObject({kind: 'weight', key: 'user-42'})
    const byQuery = decide(policy({weightBp: 10_000, sticky: {kind: 'query', name: 'u'}}), request({query: {u: 'abc'}}))
    expect(byQuery.reason).toMatchObject({kind: 'weight', key: 'abc'})
  })

  test('the ip key hashes a mapped IPv4 client as plain IPv4, as nginx $remote_addr', () => {
    const p = policy({weightBp: 5000, sticky: {kind: 'ip'}})
    const mapped = decide(p, request({ip: '::ffff:10.0.0.1'}))
    expect(mapped.reason).toMatchObject({kind: 'weight', key: '10.0.0.1'})
    expect(mapped.target).toBe(inGray('10.0.0.1', 5000) ? 'gray' : 'stable')
    expect(decide(p, request({ip: '2001:db8::1'})).reason).toMatchObject({key: '2001:db8::1'})
    expect(canonicalIp('::ffff:192.0.2.9')).toBe('192.0.2.9')
  })
})

describe('parsing', () => {
  test('cookies: first wins, values raw, junk skipped', () => {
    const cookies = parseCookies('uid=u%201; theme=dark;uid=second; junk; =x; __proto__=p')
    expect(Object.keys(cookies)).toEqual(['uid', 'theme', '__proto__'])
    expect(cookies['uid']).toBe('u%201')
    expect(cookies['__proto__']).toBe('p')
    expect(Object.getPrototypeOf(cookies)).toBe(null)
    expect(parseCookies(undefined)).toEqual({})
  })

  test('query: first wins, values raw, flags are empty', () => {
    expect({...parseQuery('?a=1&b=x%20y&a=2&flag&=z')}).toEqual({a: '1', b: 'x%20y', flag: ''})
  })
})
