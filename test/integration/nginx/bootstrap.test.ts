// nginx will not start while an `include` names a missing file. The include
// `gray plan --json` prints as completion.native (the plain policy) is what a
// user writes before nginx's first start: nginx starts on it, sends users to
// every host, and gray reads back what it serves.
import {execFileSync} from 'node:child_process'
import {execa} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {BIN} from '../../support/cli.js'
import {nginxBinary, startNginx, type NginxInstance} from '../../support/nginx.js'
import {alive, waitFor} from '../../support/process.js'
import {Client, cohortServer, SERVICE, userServer, VARIABLE, type CohortServer} from './support.js'

describe.skipIf(nginxBinary() === null)("the plan's plain policy bootstraps nginx", () => {
  let servers: CohortServer[]
  let nginx: NginxInstance
  let plan: {completion: {native: string; policy: {revision: string; mode: string}}}
  let client: Client
  let dir: string

  beforeAll(async () => {
    servers = [await cohortServer('stable', 'web-1'), await cohortServer('gray', 'web-9')]
    const [stable, gray] = servers.map((s) => s.host) as [{name: string; address: string}, {name: string; address: string}]
    dir = mkdtempSync(path.join(tmpdir(), 'gray-bootstrap-'))
    nginx = await startNginx({
      includeName: `${SERVICE}.conf`,
      // the include does not exist yet: ask gray for it, as a user would
      include: (include) => {
        writeFileSync(
          path.join(dir, 'gray.yaml'),
          JSON.stringify({
            service: SERVICE,
            hosts: {stable: [stable], gray: [gray]},
            deploy: {command: ['true']},
            gateway: {type: 'nginx', include, variable: VARIABLE},
            traffic: {sticky: 'cookie:uid', rules: [{header: 'X-Gray', equals: '1'}]},
          }),
        )
        plan = JSON.parse(execFileSync(process.execPath, [BIN, 'plan', '--version', 'v2', '--json'], {cwd: dir, encoding: 'utf8'})) as typeof plan
        return plan.completion.native
      },
      servers: userServer,
    })
    client = new Client(nginx.baseUrl)
  })

  afterAll(async () => {
    client?.close()
    await nginx?.stop()
    await Promise.all((servers ?? []).map((s) => s.close()))
  })

  test('nginx starts on it and sends users to every host, rules or not', async () => {
    expect(plan.completion.policy.mode).toBe('plain')
    const answers = await client.many(200, (i) => client.get('/', i % 2 ? {cookie: `uid=u${i}`} : {'x-gray': '1'}))
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(new Set(answers.map((a) => a.cohort))).toEqual(new Set(['stable', 'gray']))
  })

  test('gray reads back the plain policy nginx serves', async () => {
    const gateway = new NginxGateway({type: 'nginx', include: nginx.includePath, variable: VARIABLE, test: nginx.testArgv, reload: nginx.reloadArgv}, SERVICE)
    const served = await gateway.readBack()
    expect(served?.revision).toBe(plan.completion.policy.revision)
  })

  // last: it stops nginx
  test('validate --connect says ok while nginx serves the include, and FAIL (exit 1) once nginx has stopped', async () => {
    const validate = () => execa(process.execPath, [BIN, 'validate', '--connect'], {cwd: dir, reject: false, env: {CI: '1', NO_COLOR: '1'}})
    const ok = await validate()
    expect(ok.exitCode, String(ok.stderr)).toBe(0)
    expect(String(ok.stdout)).toMatch(new RegExp(`ok {3}nginx gateway: serves revision ${plan.completion.policy.revision}`))
    for (const s of servers) expect(String(ok.stdout)).toContain(`ok   host ${s.host.name} (${s.host.address}): accepts connections`)
    const master = await nginx.pid()
    process.kill(master, 'SIGTERM')
    await waitFor(() => !alive(master), 30_000, 'nginx did not stop')
    const down = await validate()
    expect(down.exitCode).toBe(1)
    expect(String(down.stdout)).toMatch(/FAIL nginx gateway: nginx is not serving gray's policy for .*nothing answers on .*check that nginx runs/)
    expect(String(down.stdout)).not.toContain('reachable')
  })
})
