// gray's fragment on a real HAProxy 2.6: the split is HAProxy's own
// xxh32,mod(10000) and lands every user where split.ts predicts, nested as the
// weight grows; weight and rules change through the Runtime API without a
// reload; hosts joining reload; a reload keeps the policy; rules and the tag
// behave as decide.ts.
import {readFile} from 'node:fs/promises'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import type {HaproxyGateway} from '../../../src/adapters/gateways/haproxy/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import {decide, parseCookies, parseQuery} from '../../../src/core/policy/decide.js'
import {HAPROXY_XXH32} from '../../../src/core/policy/split.js'
import type {Policy} from '../../../src/core/ports.js'
import {haproxyBinary, type HaproxyInstance} from '../../support/haproxy.js'
import {Client, cohortServer, policy, RULES, TAG, type CohortServer} from '../nginx/support.js'
import {gatewayFor, haproxyFor, workerPid} from './support.js'

const USERS = 20_000

describe.skipIf(haproxyBinary() === null)('haproxy gateway on a real HAProxy', () => {
  let haproxy: HaproxyInstance
  let gateway: HaproxyGateway
  let client: Client
  let servers: CohortServer[]
  let stable: CohortServer[]
  let gray: CohortServer[]
  let initial: Policy

  beforeAll(async () => {
    stable = [await cohortServer('stable', 'web-1'), await cohortServer('stable', 'web-2')]
    gray = [await cohortServer('gray', 'web-9')]
    servers = [...stable, ...gray]
    initial = split({mode: 'plain'})
    haproxy = await haproxyFor(initial)
    gateway = gatewayFor(haproxy)
    client = new Client(haproxy.baseUrl)
  })

  afterAll(async () => {
    client?.close()
    await haproxy?.stop()
    await Promise.all((servers ?? []).map((s) => s.close()))
  })

  function split(overrides: Partial<Policy>, grayHosts = gray): Policy {
    return policy(
      stable.map((s) => s.host),
      grayHosts.map((s) => s.host),
      overrides,
    )
  }

  test('reads back from HAProxy the revision it was started with', async () => {
    expect(await gateway.readBack()).toEqual({revision: initial.revision, mode: 'plain', weightBp: 0})
  })

  test('splits 1%, 10% and 50% of 20,000 users exactly as predicted, nested, without a reload', async () => {
    const users = Array.from({length: USERS}, (_, i) => `u${i}`)
    const worker = await workerPid(haproxy)
    const grayAt = new Map<number, Set<string>>()
    for (const weightBp of [100, 1000, 5000]) {
      const applied = await gateway.publish(split({weightBp}))
      expect(applied.weightBp).toBe(weightBp)
      const answers = await client.many(USERS, (i) => client.get('/', {cookie: `uid=${users[i]}`}))
      const routed = new Set<string>()
      let mismatches = 0
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(200)
        const user = users[i] as string
        if (answer.cohort === 'gray') routed.add(user)
        if ((answer.cohort === 'gray') !== HAPROXY_XXH32.inGray(user, weightBp)) mismatches++
      })
      expect(mismatches).toBe(0)
      expect(Math.abs(routed.size / USERS - weightBp / 10_000)).toBeLessThan(0.005)
      grayAt.set(weightBp, routed)
    }
    for (const [small, large] of [
      [100, 1000],
      [1000, 5000],
    ] as const) {
      for (const user of grayAt.get(small) ?? []) expect(grayAt.get(large)?.has(user)).toBe(true)
    }
    // the weight changed three times through the Runtime API: the same worker answers
    expect(await workerPid(haproxy)).toBe(worker)
    // 60,000 requests through the gateway to upstreams in this process: 93-212 s at a load of 14-18 on two
    // cores, once over 300 s (the cohort library's same work), so a budget far from that
  }, 600_000)

  test('a request without the sticky key goes to stable below 100%, and to gray at 100%', async () => {
    await gateway.publish(split({weightBp: 9999}))
    expect((await client.get('/')).cohort).toBe('stable')
    expect((await client.get('/', {cookie: 'uid='})).cohort).toBe('stable')
    await gateway.publish(split({weightBp: 10_000}))
    expect((await client.get('/')).cohort).toBe('gray')
  })

  test('rules send matching requests to gray as decide.ts does; the tag only on gray requests', async () => {
    // RULES' ip rule (10.9.0.0/16) does not match the loopback client
    const withRules = split({weightBp: 0, rules: RULES})
    await gateway.publish(withRules)
    // the rules changed, so HAProxy reloaded: its old worker answers the connections it holds once more
    client.close()
    client = new Client(haproxy.baseUrl)
    const cases: Array<Record<string, string>> = [
      {'x-gray': '1'},
      {'x-gray': '2'},
      {cookie: 'device_id=d-43'},
      {cookie: 'device_id=d-44'},
      {'x-uid': '1500'},
      {'x-uid': '01999'},
      {'x-uid': '2000'},
      {'x-uid': '15x'},
      {cookie: 'team-name=dogfood'},
      {'x-gray-tag': 'spoofed'},
    ]
    for (const headers of cases) {
      const answer = await client.get('/', headers)
      const expected = decide(withRules, {headers, cookies: parseCookies(headers.cookie), query: {}, ip: '192.0.2.1'}).target
      expect(answer.cohort, JSON.stringify(headers)).toBe(expected)
      expect(answer.tag, JSON.stringify(headers)).toBe(expected === 'gray' ? TAG.value : null)
    }
    for (const [query, expected] of [
      ['build=beta.7', 'gray'],
      ['build=rc.1', 'stable'],
    ] as const) {
      expect((await client.get(`/?${query}`)).cohort).toBe(expected)
      expect(decide(withRules, {headers: {}, cookies: {}, query: parseQuery(query), ip: '192.0.2.1'}).target).toBe(expected)
    }
    // the loopback client is in the mapped range the last rule names (written as plain IPv4)
    await gateway.publish(split({weightBp: 0, rules: [{kind: 'cidr', cidrs: ['::ffff:127.0.0.0/104']}]}))
    expect((await rawGet(haproxy.baseUrl)).includes('"cohort":"gray"')).toBe(true)
  })

  test('a rollback switches rules and the split off through the Runtime API: no reload, at once', async () => {
    await gateway.publish(split({weightBp: 5000, rules: RULES}))
    const worker = await workerPid(haproxy)
    const applied = await gateway.publish(split({weightBp: 0, rules: []}))
    expect(applied.weightBp).toBe(0)
    expect((await client.get('/', {'x-gray': '1'})).cohort).toBe('stable')
    expect(await workerPid(haproxy)).toBe(worker)
  })

  test('a host joining gray reloads HAProxy, which then serves the new pool; a reload keeps the state', async () => {
    const joined = await cohortServer('gray', 'web-10')
    servers.push(joined)
    const worker = await workerPid(haproxy)
    const bigger = split({weightBp: 10_000}, [...gray, joined])
    expect((await gateway.publish(bigger)).revision).toBe(bigger.revision)
    expect(await workerPid(haproxy)).not.toBe(worker)
    const hosts = new Set<string>()
    for (let i = 0; i < 20; i++) hosts.add(JSON.parse(await rawGet(haproxy.baseUrl)).host as string)
    expect(hosts).toEqual(new Set(['web-9', 'web-10']))

    // a weight change goes to the map file too, so the next reload loads it
    const later = split({weightBp: 5000}, [...gray, joined])
    await gateway.publish(later)
    const [file, ...args] = haproxy.reloadArgv as [string, ...string[]]
    const {execa} = await import('execa')
    const before = await workerPid(haproxy)
    await execa(file, args)
    await waitUntil(async () => (await workerPid(haproxy).catch(() => before)) !== before)
    expect(await gateway.readBack()).toEqual({revision: later.revision, mode: 'split', weightBp: 5000})
  })

  test('a fragment the test command rejects is put back, and the error is permanent', async () => {
    const before = await readFile(haproxy.fragmentPath, 'utf8')
    const rejecting = gatewayFor(haproxy, {test: ['sh', '-c', 'echo "[ALERT]    (1) : config : parsing [x.cfg:3] : unknown keyword" >&2; exit 1']})
    const joined = await cohortServer('gray', 'web-11')
    servers.push(joined)
    const error = await rejecting.publish(split({weightBp: 100}, [...gray, joined])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).permanent).toBe(true)
    expect((error as Error).message).toContain('unknown keyword')
    expect(await readFile(haproxy.fragmentPath, 'utf8')).toBe(before)
  })
})

async function rawGet(url: string): Promise<string> {
  const response = await fetch(url, {headers: {connection: 'close'}})
  return response.text()
}

async function waitUntil(ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
