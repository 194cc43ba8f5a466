// `gray-release/cohort`, used as a Node service would, against the real gateways:
// for every request the library's answer (cohort and tag) from the policy
// document is what nginx and HAProxy actually did with the same request —
// 20,000 users at three weights, every rule kind, each sticky key kind, and a
// run's cohort seed (traffic.rotate) salting the hash.
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {cohortPolicy, type CohortAttributes, type CohortGateway} from '../../../src/cohort/index.js'
import {toDocument} from '../../../src/core/policy/document.js'
import type {Gateway, Policy} from '../../../src/core/ports.js'
import {haproxyBinary, type HaproxyInstance} from '../../support/haproxy.js'
import {nginxBinary, startNginx, type NginxInstance} from '../../support/nginx.js'
import {gatewayFor as haproxyGatewayFor, haproxyFor} from '../haproxy/support.js'
import {Client, cohortServer, policy, RULES, SERVICE, TAG, userServer, VARIABLE, type Answer, type CohortServer} from '../nginx/support.js'

const USERS = 20_000

/** The document as a service would receive it: JSON over the wire. */
function documentOf(p: Policy): unknown {
  return JSON.parse(JSON.stringify(toDocument(p)))
}

function seen(answer: Answer): {cohort: string; tag: string | null} {
  return {cohort: answer.cohort, tag: answer.tag}
}

function predicted(gateway: CohortGateway, p: Policy, attributes: CohortAttributes): {cohort: string; tag: string | null} {
  const d = cohortPolicy(documentOf(p), {gateway}).decide(attributes)
  return {cohort: d.cohort, tag: d.tag?.value ?? null}
}

/** Every rule kind, matching and not, with and without a sticky key; the client is 127.0.0.1. */
const REQUESTS: {name: string; path: string; headers: Record<string, string>}[] = [
  {name: 'equals: X-Gray 1', path: '/', headers: {'x-gray': '1'}},
  {name: 'equals: X-Gray 1x', path: '/', headers: {'x-gray': '1x'}},
  {name: 'equals: cookie team-name', path: '/', headers: {cookie: 'team-name=dogfood'}},
  {name: 'equals: cookie team-name dogfood2', path: '/', headers: {cookie: 'team-name=dogfood2'}},
  {name: 'in: device d-42', path: '/', headers: {cookie: 'device_id=d-42'}},
  {name: 'in: device d-43 after uid', path: '/', headers: {cookie: 'uid=zz; device_id=d-43'}},
  {name: 'in: device d-44', path: '/', headers: {cookie: 'device_id=d-44; uid=u7'}},
  {name: 'range: 1000', path: '/', headers: {'x-uid': '1000'}},
  {name: 'range: 1999', path: '/', headers: {'x-uid': '1999'}},
  {name: 'range: 01500', path: '/', headers: {'x-uid': '01500'}},
  {name: 'range: 999', path: '/', headers: {'x-uid': '999', cookie: 'uid=u3'}},
  {name: 'range: 2000', path: '/', headers: {'x-uid': '2000'}},
  {name: 'range: -1500', path: '/', headers: {'x-uid': '-1500'}},
  {name: 'range: 1500.5', path: '/', headers: {'x-uid': '1500.5'}},
  {name: 'prefix: beta.7', path: '/?build=beta.7', headers: {}},
  {name: 'prefix: betax7', path: '/?build=betax7', headers: {cookie: 'uid=u11'}},
  {name: 'prefix: second param', path: '/?a=1&build=beta.2', headers: {}},
  {name: 'no rule, uid u1', path: '/', headers: {cookie: 'uid=u1'}},
  {name: 'no rule, uid u2', path: '/', headers: {cookie: 'uid=u2'}},
  {name: 'no rule, no key', path: '/', headers: {}},
  {name: 'no rule, empty key', path: '/', headers: {cookie: 'uid='}},
  {name: 'forged tag', path: '/', headers: {cookie: 'uid=u5', [TAG.header]: 'forged'}},
]

/** What a service hands the library for a request: its headers (the Cookie header among them), its query string, its client address. */
function attributesOfRequest(path: string, headers: Record<string, string>): CohortAttributes {
  const q = path.indexOf('?')
  return {headers, query: q < 0 ? '' : path.slice(q + 1), ip: '127.0.0.1'}
}

function suite(name: string, gateway: CohortGateway, start: (initial: Policy, stable: CohortServer[], gray: CohortServer[]) => Promise<{gateway: Gateway; baseUrl: string; stop(): Promise<void>}>) {
  describe(`the cohort library agrees with a real ${name}`, () => {
    let running: {gateway: Gateway; baseUrl: string; stop(): Promise<void>}
    let client: Client
    let stable: CohortServer[]
    let gray: CohortServer[]

    const split = (overrides: Partial<Policy>): Policy =>
      policy(
        stable.map((s) => s.host),
        gray.map((s) => s.host),
        overrides,
      )

    beforeAll(async () => {
      stable = [await cohortServer('stable', 'web-1')]
      gray = [await cohortServer('gray', 'web-9')]
      running = await start(split({mode: 'plain'}), stable, gray)
      client = new Client(running.baseUrl)
    })

    afterAll(async () => {
      client?.close()
      await running?.stop()
      await Promise.all([...(stable ?? []), ...(gray ?? [])].map((s) => s.close()))
    })

    async function publish(p: Policy): Promise<void> {
      await running.gateway.publish(p)
      // a reload or a rule change may end the connections the client holds
      client.close()
      client = new Client(running.baseUrl)
    }

    test(`over ${USERS.toLocaleString('en')} users at 1%, 10% and 50%: the same cohort and tag for every user`, async () => {
      const users = Array.from({length: USERS}, (_, i) => `u${i}`)
      for (const weightBp of [100, 1000, 5000]) {
        const p = split({weightBp})
        await publish(p)
        const library = cohortPolicy(documentOf(p), {gateway})
        const answers = await client.many(USERS, (i) => client.get('/', {cookie: `uid=${users[i]}`}))
        const differ = answers.flatMap((answer, i) => {
          const d = library.decide({uid: users[i]})
          const want = {cohort: d.cohort, tag: d.tag?.value ?? null}
          return answer.status === 200 && answer.cohort === want.cohort && answer.tag === want.tag ? [] : [{user: users[i], seen: seen(answer), want}]
        })
        expect(differ.slice(0, 5)).toEqual([])
        const grayShare = answers.filter((a) => a.cohort === 'gray').length / USERS
        expect(Math.abs(grayShare - weightBp / 10_000)).toBeLessThan(0.005)
      }
      // 60,000 requests through the gateway to upstreams in this process: 86-93 s at a load of 14
    }, 600_000)

    test(`a run's cohort seed over ${USERS.toLocaleString('en')} users: the same cohort for every user; its 10% stay in at 50%; another seed picks other users`, async () => {
      const users = Array.from({length: USERS}, (_, i) => `u${i}`)
      const grayUnder = async (seed: string, weightBp: number): Promise<Set<string>> => {
        const p = split({weightBp, seed})
        await publish(p)
        const library = cohortPolicy(documentOf(p), {gateway})
        expect(library.seed).toBe(seed)
        const answers = await client.many(USERS, (i) => client.get('/', {cookie: `uid=${users[i]}`}))
        const differ = answers.flatMap((answer, i) => {
          const want = library.decide({uid: users[i]}).cohort
          return answer.status === 200 && answer.cohort === want ? [] : [{user: users[i], seen: answer.cohort, want}]
        })
        expect(differ.slice(0, 5)).toEqual([])
        return new Set(users.filter((_, i) => answers[i]?.cohort === 'gray'))
      }
      const first10 = await grayUnder('3f9a1c07', 1000)
      const first50 = await grayUnder('3f9a1c07', 5000)
      const second10 = await grayUnder('c0ffee42', 1000)
      const share = (set: Set<string>) => set.size / USERS
      expect(Math.abs(share(first10) - 0.1)).toBeLessThan(0.01)
      expect(Math.abs(share(first50) - 0.5)).toBeLessThan(0.01)
      // one seed through a run: whoever is in gray at 10% is still in gray at 50%
      expect([...first10].filter((u) => !first50.has(u))).toEqual([])
      // another run's seed: about 10% of 10% of users are in both gray cohorts, as for independent draws
      const both = [...first10].filter((u) => second10.has(u)).length / USERS
      expect(both).toBeGreaterThan(0.005)
      expect(both).toBeLessThan(0.015)
      // and the unseeded cohort (traffic.rotate: false) is a third draw
      const unseeded = cohortPolicy(documentOf(split({weightBp: 1000})), {gateway})
      const withUnseeded = [...first10].filter((u) => unseeded.decide({uid: u}).cohort === 'gray').length / USERS
      expect(withUnseeded).toBeGreaterThan(0.005)
      expect(withUnseeded).toBeLessThan(0.015)
      // 60,000 requests and three reloads: 212 s at a load of 18 on two cores, once over 300 s
    }, 600_000)

    test.each([0, 5000])('every rule kind at weight %i bp: the same cohort and tag for every request', async (weightBp) => {
      const p = split({weightBp, rules: RULES})
      await publish(p)
      const differ: unknown[] = []
      for (const {name: request, path, headers} of REQUESTS) {
        const want = predicted(gateway, p, attributesOfRequest(path, headers))
        const answer = seen(await client.get(path, headers))
        if (answer.cohort !== want.cohort || answer.tag !== want.tag) differ.push({request, seen: answer, want})
      }
      expect(differ).toEqual([])
    })

    test('an ip rule: the client network matches, another does not; mapped addresses count as IPv4', async () => {
      for (const cidrs of [['10.9.0.0/16'], ['10.9.0.0/16', '127.0.0.0/8'], ['::ffff:127.0.0.0/104']]) {
        const p = split({rules: [{kind: 'cidr', cidrs}]})
        await publish(p)
        const answer = seen(await client.get('/'))
        expect({cidrs, answer}).toEqual({cidrs, answer: predicted(gateway, p, {ip: '127.0.0.1'})})
        expect(predicted(gateway, p, {ip: '::ffff:127.0.0.1'})).toEqual(answer)
      }
    })

    test.each([
      ['header:X-User', (u: string) => ({path: '/', headers: {'x-user': u}})],
      ['query:user', (u: string) => ({path: `/?user=${u}`, headers: {}})],
    ] as const)('sticky %s over 2,000 users at 30%: the same cohort for every user', async (sticky, request) => {
      const [kind, field] = sticky.split(':') as ['header' | 'query', string]
      const p = split({weightBp: 3000, sticky: {kind, name: field}})
      await publish(p)
      const library = cohortPolicy(documentOf(p), {gateway})
      const users = Array.from({length: 2000}, (_, i) => `k${i}`)
      const answers = await client.many(users.length, (i) => {
        const r = request(users[i] as string)
        return client.get(r.path, r.headers)
      })
      const differ = answers.flatMap((answer, i) => {
        const user = users[i] as string
        const r = request(user)
        const byAttributes = library.decide(attributesOfRequest(r.path, r.headers)).cohort
        const byUid = library.decide({uid: user}).cohort
        return answer.cohort === byAttributes && byUid === byAttributes ? [] : [{user, seen: answer.cohort, byAttributes, byUid}]
      })
      expect(differ.slice(0, 5)).toEqual([])
    }, 120_000)

    test('plain mode: stable and no tag, rules included', async () => {
      const p = split({mode: 'plain', weightBp: 5000, rules: RULES})
      await publish(p)
      const headers = {cookie: 'uid=u1', 'x-gray': '1'}
      expect(seen(await client.get('/', headers))).toEqual({cohort: 'stable', tag: null})
      expect(predicted(gateway, p, attributesOfRequest('/', headers))).toEqual({cohort: 'stable', tag: null})
    })
  })
}

describe.skipIf(nginxBinary() === null)('nginx', () => {
  suite('nginx', 'nginx', async (initial) => {
    const make = (include: string, instance?: NginxInstance) =>
      new NginxGateway({type: 'nginx', include, variable: VARIABLE, test: instance?.testArgv ?? ['true'], reload: instance?.reloadArgv ?? ['true']}, SERVICE)
    const nginx = await startNginx({includeName: 'checkout.conf', include: (path) => make(path).render(initial), servers: userServer})
    return {gateway: make(nginx.includePath, nginx), baseUrl: nginx.baseUrl, stop: () => nginx.stop()}
  })
})

describe.skipIf(haproxyBinary() === null)('haproxy', () => {
  suite('HAProxy', 'haproxy', async (initial) => {
    const haproxy: HaproxyInstance = await haproxyFor(initial)
    return {gateway: haproxyGatewayFor(haproxy), baseUrl: haproxy.baseUrl, stop: () => haproxy.stop()}
  })
})
