// Fleets of real gateways: three nginx instances, one of which fails its
// reload mid-run, and two HAProxy instances, one of which stops answering
// mid-run (SIGSTOP). A publish is confirmed only on all of them; the failing
// instance is named, keeps its old policy (and sends its users to gray) until
// it recovers, and the rollback is confirmed on all once it does.
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {FleetGateway} from '../../../src/adapters/gateways/fleet.js'
import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {GatewayError} from '../../../src/core/errors.js'
import {HAPROXY_XXH32} from '../../../src/core/policy/split.js'
import {inGray} from '../../../src/core/policy/hash.js'
import type {Policy} from '../../../src/core/ports.js'
import {haproxyBinary, type HaproxyInstance} from '../../support/haproxy.js'
import {nginxBinary, startNginx, type NginxInstance} from '../../support/nginx.js'
import {gatewayAt, haproxyFor, workerPid} from '../haproxy/support.js'
import {Client, cohortServer, policy, SERVICE, userServer, VARIABLE, type CohortServer} from '../nginx/support.js'

const FAST = {attempts: 2, baseDelayMs: 20, maxDelayMs: 50}

let servers: CohortServer[] = []
beforeAll(async () => {
  servers = [await cohortServer('stable', 'web-1'), await cohortServer('gray', 'web-9')]
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})
const make = (over: Partial<Policy>) => policy([servers[0]!.host], [servers[1]!.host], over)

/** the first user (u0, u1, ...) the split sends to gray at `weightBp` */
function grayUser(isGray: (key: string, weightBp: number) => boolean, weightBp: number): string {
  for (let i = 0; ; i++) if (isGray(`u${i}`, weightBp)) return `u${i}`
}

describe.skipIf(nginxBinary() === null)('a fleet of three real nginx', () => {
  const nginx: NginxInstance[] = []
  let flag: string

  afterAll(async () => {
    await Promise.all(nginx.map((n) => n.stop()))
    if (flag) rmSync(flag, {force: true})
  })

  test('one failing its reload holds the publish, is named, and the rollback is confirmed once it recovers', async () => {
    const initial = make({mode: 'plain'})
    for (let i = 0; i < 3; i++) {
      nginx.push(await startNginx({includeName: 'checkout.conf', include: (path) => single(path, ['true']).render(initial), servers: userServer}))
    }
    flag = join(nginx[2]!.prefix, 'fail-reload')
    const members = nginx.map((n, i) => ({
      name: `nginx-${i + 1}`,
      // the third one's reload fails while the flag file exists
      gateway: single(n.includePath, i === 2 ? ['sh', '-c', 'if [ -e "$0" ]; then echo "nginx: [alert] kill(1234, 1) failed (3: No such process)" >&2; exit 1; fi; exec "$@"', flag, ...n.reloadArgv] : n.reloadArgv, n.testArgv),
    }))
    const fleet = new FleetGateway(members, FAST)

    const step1 = make({weightBp: 1000})
    expect((await fleet.publish(step1)).revision).toBe(step1.revision)
    expect((await fleet.readBackEach()).map((i) => i.applied?.revision)).toEqual([step1.revision, step1.revision, step1.revision])

    writeFileSync(flag, '')
    const step2 = make({weightBp: 5000})
    const error = (await fleet.publish(step2).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.message).toContain('confirmed on 2 of 3 nginx instances (nginx-1, nginx-2), not on nginx-3')
    expect(error.message).toContain('kill(1234, 1) failed')
    await expect(fleet.readBack()).rejects.toThrow(/nginx-3 serves revision .* \(10%\)/)

    // the rollback reaches the two that reload; nginx-3 still sends a gray user to gray, and is named
    const rollback = make({weightBp: 0, rules: []})
    await expect(fleet.publish(rollback)).rejects.toThrow('nginx-3 may still send traffic to gray')
    const user = grayUser(inGray, 1000)
    expect(await cohortAt(nginx[0]!.baseUrl, user)).toBe('stable')
    expect(await cohortAt(nginx[2]!.baseUrl, user)).toBe('gray')

    rmSync(flag)
    expect((await fleet.publish(rollback)).revision).toBe(rollback.revision)
    for (const n of nginx) expect(await cohortAt(n.baseUrl, user)).toBe('stable')
    expect(existsSync(flag)).toBe(false)
  })
})

describe.skipIf(haproxyBinary() === null)('a fleet of two real HAProxy', () => {
  const haproxy: HaproxyInstance[] = []
  let stopped: number | null = null

  afterAll(async () => {
    if (stopped) process.kill(stopped, 'SIGCONT')
    await Promise.all(haproxy.map((h) => h.stop()))
  })

  test('one that stops answering holds the publish, is named, and the rollback is confirmed once it answers again', async () => {
    const initial = make({mode: 'plain'})
    for (let i = 0; i < 2; i++) haproxy.push(await haproxyFor(initial))
    const fleet = new FleetGateway(
      haproxy.map((h, i) => ({
        name: `haproxy-${i + 1}`,
        gateway: gatewayAt(h.fragmentPath, h.port, h.socket, {test: h.testArgv, reload: h.reloadArgv}, {readTimeoutMs: 500, confirmTimeoutMs: 3000}),
      })),
      FAST,
    )
    const step1 = make({weightBp: 1000})
    expect((await fleet.publish(step1)).revision).toBe(step1.revision)

    // haproxy-2's worker stops answering (its Runtime API and its traffic)
    stopped = await workerPid(haproxy[1]!)
    process.kill(stopped, 'SIGSTOP')
    const rollback = make({weightBp: 0, rules: []})
    const error = (await fleet.publish(rollback).catch((e: unknown) => e)) as GatewayError
    expect(error.message).toContain('confirmed on 1 of 2 haproxy instances (haproxy-1), not on haproxy-2')
    expect(error.message).toContain('haproxy-2 may still send traffic to gray')
    const each = await fleet.readBackEach()
    expect(each[0]).toEqual({name: 'haproxy-1', applied: {revision: rollback.revision, weightBp: 0, mode: 'split'}})
    expect(each[1]?.error).toMatch(/did not answer/)
    const user = grayUser(HAPROXY_XXH32.inGray, 1000)
    expect(await cohortAt(haproxy[0]!.baseUrl, user)).toBe('stable')

    process.kill(stopped, 'SIGCONT')
    stopped = null
    expect((await fleet.publish(rollback)).revision).toBe(rollback.revision)
    for (const h of haproxy) expect(await cohortAt(h.baseUrl, user)).toBe('stable')
  })
})

function single(include: string, reload: string[], test: string[] = ['true']): NginxGateway {
  return new NginxGateway({type: 'nginx', include, variable: VARIABLE, test, reload}, SERVICE, {confirmTimeoutMs: 3000})
}

async function cohortAt(baseUrl: string, user: string): Promise<string> {
  const client = new Client(baseUrl)
  try {
    return (await client.get('/', {cookie: `uid=${user}`})).cohort
  } finally {
    client.close()
  }
}
