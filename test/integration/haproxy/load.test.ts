// Nothing lost: a second process keeps keep-alive requests going through a
// real HAProxy while gray publishes 20 weight changes and a rollback (Runtime
// API only: not even a connection is closed), then a host joining gray (a
// hitless reload: no request fails).
import type {ChildProcess} from 'node:child_process'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {haproxyBinary, type HaproxyInstance} from '../../support/haproxy.js'
import {Client, cohortServer, LOAD_WEIGHTS_BP, policy, RULES, startLoad, type CohortServer} from '../nginx/support.js'
import {gatewayFor, haproxyFor, workerPid} from './support.js'

describe.skipIf(haproxyBinary() === null)('HAProxy under steady load', () => {
  let haproxy: HaproxyInstance
  let servers: CohortServer[]
  let worker: ChildProcess | undefined

  beforeAll(async () => {
    servers = [await cohortServer('stable', 'web-1'), await cohortServer('gray', 'web-9'), await cohortServer('gray', 'web-10')]
  })

  afterAll(async () => {
    worker?.kill()
    await haproxy?.stop()
    await Promise.all((servers ?? []).map((s) => s.close()))
  })

  test('20 weight changes and a rollback drop no request and close no connection', async () => {
    const [stable, gray, joining] = servers as [CohortServer, CohortServer, CohortServer]
    const make = (weightBp: number, rules = RULES, grayHosts = [gray.host]) => policy([stable.host], grayHosts, {weightBp, rules})
    haproxy = await haproxyFor(make(0, RULES))
    const gateway = gatewayFor(haproxy)
    const before = await workerPid(haproxy)

    let load = await startLoad(haproxy.baseUrl, (child) => (worker = child))
    // each weight held a moment: a Runtime API publish takes milliseconds, and the load must overlap every change
    for (const weightBp of LOAD_WEIGHTS_BP) {
      await gateway.publish(make(weightBp))
      await delay(100)
    }
    const rollback = make(0, [])
    expect((await gateway.publish(rollback)).revision).toBe(rollback.revision)
    let stats = await load.stop()
    expect(stats.failures).toEqual([])
    expect(stats.failed).toBe(0)
    expect(stats.resent).toBe(0)
    // thousands are expected; the bound only proves the changes ran under load, whatever the machine's speed
    expect(stats.ok).toBeGreaterThan(200)
    expect(stats.gray).toBeGreaterThan(0)
    expect(await workerPid(haproxy)).toBe(before)

    // after the rollback no request reaches gray
    const client = new Client(haproxy.baseUrl)
    const after = await client.many(500, (i) => client.get('/', {cookie: `uid=load${i}`}))
    client.close()
    expect(after.filter((a) => a.cohort !== 'stable')).toEqual([])

    // a host joining gray: a reload under load fails no request
    load = await startLoad(haproxy.baseUrl, (child) => (worker = child))
    await gateway.publish(make(5000, RULES, [gray.host, joining.host]))
    expect(await workerPid(haproxy)).not.toBe(before)
    for (const weightBp of [1000, 5000]) await gateway.publish(make(weightBp, RULES, [gray.host, joining.host]))
    stats = await load.stop()
    expect(stats.failures).toEqual([])
    expect(stats.failed).toBe(0)
    expect(stats.gray).toBeGreaterThan(0)
  })
})
