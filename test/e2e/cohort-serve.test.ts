// `gray cohort serve` as a user starts it: a ready line on stdout, answers on
// loopback, a clean stop on SIGTERM; `gray cohort KEY=VALUE` answers as before
// now that cohort is also a topic; a gateway that splits per request is refused.
import {execa} from 'execa'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {configFromObject} from '../../src/core/config/load.js'
import {inGray} from '../../src/core/policy/hash.js'
import {runStarted} from '../../src/core/run/begin.js'
import {LocalBackend} from '../../src/state/local.js'
import {newRunId} from '../../src/state/store.js'
import {BIN, run} from '../support/cli.js'

const ENV = {CI: '1', NO_COLOR: '1'}

function project(gateway = 'type: sandbox'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-cohort-e2e-'))
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    `service: shop
hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}
deploy: {command: ["true"]}
gateway: {${gateway}}
traffic:
  sticky: cookie:uid
  rules: [{header: X-Gray, equals: "1"}]
`,
  )
  return dir
}

describe('gray cohort serve', () => {
  it('prints where it answers (loopback), answers, follows a run another process journals, and exits 0 on SIGTERM', async () => {
    const dir = project()
    const child = execa(process.execPath, [BIN, 'cohort', 'serve', '--listen', '127.0.0.1:0'], {cwd: dir, env: ENV, reject: false, timeout: 60_000})
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({input: child.stdout!}).once('line', resolve)
      child.once('exit', () => reject(new Error('gray cohort serve exited before it was ready')))
    })
    try {
      const ready = JSON.parse(first) as {listen: string; service: string; backend: string}
      expect(ready).toEqual({listen: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), service: 'shop', backend: 'local'})
      const ask = async (query: string) => (await (await fetch(`${ready.listen}/v1/cohort/shop?${query}`)).json()) as Record<string, unknown>
      expect(await ask('uid=u42&header.X-Gray=1')).toMatchObject({service: 'shop', gray: false, why: 'plain', revision: null, run: null})

      // another process (this one) starts a run and publishes 50% with the rules: the server follows without a restart
      const config = configFromObject(parse(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')), path.join(dir, 'gray.yaml'))
      const backend = new LocalBackend(config.state.dir)
      const lease = await backend.acquireLease('shop', {user: 't', host: hostname(), pid: process.pid, ci: true, kind: 'cli'}, {ttlMs: 60_000})
      const runId = newRunId()
      await backend.createRun('shop', runId, lease, {type: 'run.started', data: runStarted(config, runId, 'v2', 'v1') as never})
      const published = {revision: `${runId}.4`, weightBp: 5000, mode: 'split', purpose: 'step', step: 0}
      await backend.append('shop', runId, lease, [
        {type: 'step.started', data: {index: 0, weight: 50}},
        {type: 'gateway.publish.started', data: {...published, rules: 1, gray: ['127.0.0.1:10'], stable: ['127.0.0.1:9']}},
        {type: 'gateway.publish.confirmed', data: published},
      ])
      await lease.release()
      await backend.close()
      const deadline = Date.now() + 30_000
      while ((await ask('uid=u42')).revision !== published.revision && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(await ask('uid=u42&header.X-Gray=1')).toMatchObject({gray: true, why: 'rule', revision: published.revision, run: {id: runId, weightBasisPoints: 5000}})
      expect((await ask('uid=u42')).gray).toBe(inGray('u42', 5000))
    } finally {
      child.kill('SIGTERM')
    }
    const r = await child
    expect(r.exitCode, String(r.stderr)).toBe(0)
  })

  it('refuses a gateway that splits per request, and a listen address that is not host:port: exit 2, one sentence', async () => {
    const apisix = project('type: apisix, url: "http://127.0.0.1:9180", routeId: shop')
    const refused = await run(['cohort', 'serve', '--listen', '127.0.0.1:0'], {cwd: apisix, env: ENV})
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/^gray: gray cohort serve: gateway "apisix" picks an upstream per request/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    const bad = await run(['cohort', 'serve', '--listen', 'everywhere'], {cwd: project(), env: ENV})
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/--listen: "everywhere" is not host:port/)
  })

  it('leaves `gray cohort KEY=VALUE` answering as before', async () => {
    const r = await run(['cohort', 'uid=u42', 'header:X-Gray=1', '--json'], {cwd: project(), env: ENV})
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {service: string; steps: Array<{target: string; why: string}>}
    expect(doc.service).toBe('shop')
    expect(doc.steps.every((s) => s.target === 'gray' && s.why.includes('traffic.rules[0]'))).toBe(true)
  })
})
