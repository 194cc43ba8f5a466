// `gray-release/cohort` as a service calls it: a policy document and a request's
// or message's attributes in, the gateway's cohort and tag out. Agreement with
// the real nginx and HAProxy is test/integration/cohort/library.test.ts.
import {readFileSync} from 'node:fs'
import {createServer, request, type IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'
import {describe, expect, it, test} from 'vitest'

import {attributesOf, cohortPolicy, decideCohort, PolicyDocumentError, type CohortAttributes} from '../../../src/cohort/index.js'
import {inGray} from '../../../src/core/policy/hash.js'
import {BFE_MURMUR3, HAPROXY_XXH32} from '../../../src/core/policy/split.js'

function doc(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'gray.dev/v1',
    kind: 'GrayPolicy',
    service: 'checkout',
    revision: 'run-1/step-2',
    mode: 'split',
    weightBasisPoints: 1000,
    sticky: 'cookie:uid',
    rules: [
      {header: 'X-Gray', equals: '1'},
      {cookie: 'device_id', in: ['d-42', 'd-43']},
      {query: 'build', prefix: 'beta.'},
      {header: 'X-Uid', range: [1000, 1999]},
      {ip: ['10.9.0.0/16', '::ffff:192.168.0.0/112']},
    ],
    tag: {header: 'X-Gray-Tag', value: 'gray'},
    upstreams: {stable: [{name: 'web-1', address: '10.0.0.21:8080'}], gray: [{name: 'web-9', address: '10.0.0.11:8080'}]},
    ...over,
  }
}

const USERS = Array.from({length: 2000}, (_, i) => `u${i}`)

describe('the split: each gateway\'s own hash', () => {
  test.each([
    ['nginx', (u: string, w: number) => inGray(u, w)],
    ['http', (u: string, w: number) => inGray(u, w)],
    ['sandbox', (u: string, w: number) => inGray(u, w)],
    ['haproxy', (u: string, w: number) => HAPROXY_XXH32.inGray(u, w)],
    ['bfe', (u: string, w: number) => BFE_MURMUR3.inGray(u, w)],
  ] as const)('%s: a user is gray exactly where its split puts them, at 1%% and 25%%', (gateway, expected) => {
    for (const weight of [100, 2500]) {
      const p = cohortPolicy(doc({weightBasisPoints: weight, rules: []}), {gateway})
      const wrong = USERS.filter((u) => (p.decide({uid: u}).cohort === 'gray') !== expected(u, weight))
      expect(wrong).toEqual([])
    }
  })

  it('defaults to nginx, and says the bucket that decided', () => {
    const p = cohortPolicy(doc({rules: []}))
    const d = p.decide({uid: 'u42'})
    expect(d).toMatchObject({why: 'weight', rule: null, bucket: expect.any(Number)})
    expect(d.cohort).toBe((d.bucket as number) < 1000 ? 'gray' : 'stable')
    const h = cohortPolicy(doc({rules: []}), {gateway: 'haproxy'}).decide({uid: 'u42'})
    expect(h.bucket).toBe(HAPROXY_XXH32.bucketOf('u42'))
  })

  it('keeps a user in gray as the weight grows', () => {
    const at = (w: number) => new Set(USERS.filter((u) => decideCohort(doc({weightBasisPoints: w, rules: []}), {uid: u}, {gateway: 'bfe'}).cohort === 'gray'))
    const [one, ten] = [at(100), at(1000)]
    expect([...one].filter((u) => !ten.has(u))).toEqual([])
    expect(ten.size).toBeGreaterThan(one.size)
  })
})

describe('attributes', () => {
  const p = cohortPolicy(doc({weightBasisPoints: 0}))
  const cases: [string, CohortAttributes, 'gray' | 'stable', number | null][] = [
    ['a header rule, by a name in any case', {headers: {'x-GRAY': '1'}}, 'gray', 0],
    ['a message head field is read like a header', {headers: {'X-Uid': '1500'}}, 'gray', 3],
    ['a header given as a list is joined with ", " (so "1" alone no longer equals)', {headers: {'x-gray': ['1', '2']}}, 'stable', null],
    ['a cookie from the Cookie header', {headers: {cookie: 'uid=a; device_id=d-42'}}, 'gray', 1],
    ['a cookie from a Cookie text', {cookies: 'device_id=d-43'}, 'gray', 1],
    ['a cookie from a record', {cookies: {device_id: 'd-42'}}, 'gray', 1],
    ['the first of a repeated cookie counts', {cookies: 'device_id=d-1; device_id=d-42'}, 'stable', null],
    ['a query string with its ?', {query: '?a=1&build=beta.3'}, 'gray', 2],
    ['a query string without it', {query: 'build=beta.3'}, 'gray', 2],
    ['a query record', {query: {build: 'beta.x'}}, 'gray', 2],
    ['query values stay raw, as nginx reads them', {query: 'build=beta%2E3'}, 'stable', null],
    ['the client network', {ip: '10.9.3.4'}, 'gray', 4],
    ['an IPv4-mapped client address', {ip: '::ffff:10.9.3.4'}, 'gray', 4],
    ['an IPv4-mapped range means its IPv4 range', {ip: '192.168.7.7'}, 'gray', 4],
    ['an address outside', {ip: '10.10.0.1'}, 'stable', null],
    ['nothing at all', {}, 'stable', null],
    ['names an object has by inheritance match nothing', {headers: {constructor: '1'}, cookies: 'toString=1', query: '__proto__=1'}, 'stable', null],
  ]
  test.each(cases)('%s', (_name, attributes, cohort, rule) => {
    const d = p.decide(attributes)
    expect({cohort: d.cohort, rule: d.rule}).toEqual({cohort, rule})
  })

  test.each([
    ['cookie:uid', {cookies: {uid: 'u7'}}],
    ['header:X-User', {headers: {'x-user': 'u7'}}],
    ['query:user', {query: 'user=u7'}],
  ] as const)('uid is put where sticky %s reads it, over a value given there', (sticky, same) => {
    const p = cohortPolicy(doc({sticky, rules: [], weightBasisPoints: 5000}))
    expect(p.decide({uid: 'u7'})).toEqual(p.decide(same))
    const other = USERS.find((u) => inGray(u, 5000) !== inGray('u7', 5000)) as string
    const overridden = {...same, uid: other}
    expect(p.decide(overridden).cohort).toBe(inGray(other, 5000) ? 'gray' : 'stable')
  })

  it('sticky ip hashes the client address as nginx writes it; uid is refused there', () => {
    const p = cohortPolicy(doc({sticky: 'ip', rules: [], weightBasisPoints: 5000}))
    expect(p.decide({ip: '::ffff:203.0.113.9'})).toEqual(p.decide({ip: '203.0.113.9'}))
    expect(p.decide({ip: '203.0.113.9'}).cohort).toBe(inGray('203.0.113.9', 5000) ? 'gray' : 'stable')
    expect(() => p.decide({uid: 'u1'})).toThrow(/sticky: ip.*pass ip instead/)
  })
})

describe('the decision', () => {
  it('carries the tag only to gray, and the revision and service of the policy that decided', () => {
    const p = cohortPolicy(doc())
    const gray = p.decide({headers: {'x-gray': '1'}})
    expect(gray).toEqual({cohort: 'gray', tag: {header: 'X-Gray-Tag', value: 'gray'}, service: 'checkout', revision: 'run-1/step-2', why: 'rule', rule: 0, bucket: null})
    gray.tag!.value = 'changed'
    expect(p.decide({headers: {'x-gray': '1'}}).tag).toEqual({header: 'X-Gray-Tag', value: 'gray'})
    const stable = USERS.find((u) => !inGray(u, 1000)) as string
    expect(p.decide({uid: stable})).toMatchObject({cohort: 'stable', tag: null, why: 'weight'})
    expect(cohortPolicy(doc({tag: null})).decide({headers: {'x-gray': '1'}}).tag).toBeNull()
  })

  it('plain: everything to stable, rules included; no key below 100%: stable; at 100%: gray, key or not', () => {
    expect(decideCohort(doc({mode: 'plain'}), {headers: {'x-gray': '1'}})).toMatchObject({cohort: 'stable', why: 'plain', tag: null})
    expect(decideCohort(doc({weightBasisPoints: 9999, rules: []}), {cookies: 'uid='})).toMatchObject({cohort: 'stable', why: 'no-key'})
    expect(decideCohort(doc({weightBasisPoints: 10_000, rules: []}), {})).toMatchObject({cohort: 'gray', why: 'weight'})
  })

  it('exposes what the policy says', () => {
    const p = cohortPolicy(doc({sticky: 'header:X-User'}))
    expect({service: p.service, revision: p.revision, mode: p.mode, weight: p.weightBasisPoints, sticky: p.sticky}).toEqual({
      service: 'checkout',
      revision: 'run-1/step-2',
      mode: 'split',
      weight: 1000,
      sticky: 'header:X-User',
    })
  })
})

describe('refusals', () => {
  it('a document that is not a policy names its first wrong field', () => {
    const bad = (() => {
      try {
        cohortPolicy(doc({rules: [{header: 'X-Uid', range: [5, 1]}]}))
      } catch (error) {
        return error
      }
    })()
    expect(bad).toBeInstanceOf(PolicyDocumentError)
    expect((bad as PolicyDocumentError).field).toBe('rules[0].range')
    expect(() => cohortPolicy({apiVersion: 'gray.dev/v2'})).toThrow(PolicyDocumentError)
    expect(() => cohortPolicy('{"not": "parsed"}')).toThrow(PolicyDocumentError)
  })

  test.each(['apisix', 'shenyu'])('%s splits per request: refused, saying why', (gateway) => {
    expect(() => cohortPolicy(doc(), {gateway: gateway as 'nginx'})).toThrow(new RegExp(`"${gateway}" picks an upstream per request`))
  })

  it('an unknown gateway is refused naming the ones it knows', () => {
    expect(() => cohortPolicy(doc(), {gateway: 'envoy' as 'nginx'})).toThrow(/must be one of nginx, http, sandbox, haproxy, bfe/)
  })
})

describe('a Node HTTP request', () => {
  it("reads its headers, Cookie header, raw query and the socket's client address", async () => {
    const seen: CohortAttributes[] = []
    const server = createServer((req: IncomingMessage, res) => {
      seen.push(attributesOf(req))
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    await new Promise<void>((resolve, reject) => {
      request({port, host: '127.0.0.1', path: '/x?build=beta.1&a=%20', headers: {cookie: 'uid=u9; device_id=d-7', 'X-Uid': '12'}}, (res) => {
        res.resume()
        res.on('end', resolve)
      })
        .on('error', reject)
        .end()
    })
    await new Promise((resolve) => server.close(resolve))
    const a = seen[0] as CohortAttributes
    expect({...a.headers}).toMatchObject({'x-uid': '12', cookie: 'uid=u9; device_id=d-7'})
    expect({...(a.cookies as Record<string, string>)}).toEqual({uid: 'u9', device_id: 'd-7'})
    expect({...(a.query as Record<string, string>)}).toEqual({build: 'beta.1', a: '%20'})
    expect(a.ip).toBe('127.0.0.1')
    expect(cohortPolicy(doc({weightBasisPoints: 0})).decide(a)).toMatchObject({cohort: 'gray', rule: 2})
  })
})

describe('what importing it loads', () => {
  // followed from the source: every module the export reaches, and the packages they import at run time
  function packagesReached(entry: string): Set<string> {
    const packages = new Set<string>()
    const seenFiles = new Set<string>()
    const visit = (file: string) => {
      if (seenFiles.has(file)) return
      seenFiles.add(file)
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
        const [, typeOnly, spec] = m as unknown as [string, string | undefined, string]
        if (typeOnly) continue
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
        else packages.add(spec)
      }
    }
    visit(path.resolve(entry))
    return packages
  }

  it('no CLI framework, terminal or network package: only ipaddr.js, zod and Node built-ins', () => {
    const reached = [...packagesReached('src/cohort/index.ts')].filter((p) => !p.startsWith('node:'))
    expect(reached.sort()).toEqual(['ipaddr.js', 'zod'])
  })
})
