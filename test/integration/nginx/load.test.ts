// Nothing lost: a second process keeps requesting through nginx while gray
// publishes 20 weight changes and a rollback; every request must succeed.
import type {ChildProcess} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {nginxBinary, startNginx, type NginxInstance} from '../../support/nginx.js'
import {Client, cohortServer, LOAD_WEIGHTS_BP, policy, RULES, SERVICE, startLoad, userServer, VARIABLE, type CohortServer} from './support.js'

describe.skipIf(nginxBinary() === null)('nginx under steady load', () => {
  let nginx: NginxInstance
  let servers: CohortServer[]
  let worker: ChildProcess | undefined

  beforeAll(async () => {
    servers = [await cohortServer('stable', 'web-1'), await cohortServer('gray', 'web-9')]
  })

  afterAll(async () => {
    worker?.kill()
    await nginx?.stop()
    await Promise.all((servers ?? []).map((s) => s.close()))
  })

  test('20 weight changes and a rollback fail no request from a second process', async () => {
    const [stable, gray] = servers as [CohortServer, CohortServer]
    const make = (weightBp: number, rules = RULES) => policy([stable.host], [gray.host], {weightBp, rules})
    let gateway!: NginxGateway
    const initial = make(0, [])
    nginx = await startNginx({
      includeName: 'checkout.conf',
      include: (path) => {
        gateway = new NginxGateway({type: 'nginx', include: path, variable: VARIABLE, test: ['true'], reload: ['true']}, SERVICE)
        return gateway.render(initial)
      },
      servers: userServer,
    })
    gateway = new NginxGateway({type: 'nginx', include: nginx.includePath, variable: VARIABLE, test: nginx.testArgv, reload: nginx.reloadArgv}, SERVICE)

    const load = await startLoad(nginx.baseUrl, (child) => (worker = child))

    for (const weightBp of LOAD_WEIGHTS_BP) await gateway.publish(make(weightBp))
    const rollback = make(0, [])
    expect((await gateway.publish(rollback)).revision).toBe(rollback.revision)
    await new Promise((resolve) => setTimeout(resolve, 300))

    const stats = await load.stop()
    expect(stats.failures).toEqual([])
    expect(stats.failed).toBe(0)
    expect(stats.ok).toBeGreaterThan(1000)
    expect(stats.gray).toBeGreaterThan(0)

    // after the rollback no new request reaches gray
    const client = new Client(nginx.baseUrl)
    const after = await client.many(500, (i) => client.get('/', {cookie: `uid=load${i}`}))
    client.close()
    expect(after.filter((a) => a.cohort !== 'stable')).toEqual([])
  })
})
