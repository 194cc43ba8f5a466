// A run of the real CLI (bin/run.js) against the fake BFE API server
// (test/fakes/bfe.ts) in api mode: validate --connect, each step published and
// read back from the API server, `gray cohort` predicting where the fake's
// bucketing sends a user, a rollback to stable; a read-back another writer
// keeps changing holds the run (exit 4) with the API server's words; a token
// the API server refuses is refused before anything is written, in one clear
// sentence that never shows the token.
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BFE_MURMUR3} from '../../src/core/policy/split.js'
import {startFakeBfeApi, type FakeBfeApi} from '../fakes/bfe.js'
import {run} from '../support/cli.js'

let api: FakeBfeApi
let hosts: Server[] = []
let ports: number[] = []
const TOKEN = 'bfe-token-Kq27Xw9'

beforeAll(async () => {
  api = await startFakeBfeApi({token: TOKEN, product: 'checkout'})
  // the two hosts, so validate --connect finds something listening
  hosts = [createServer((s) => s.end()), createServer((s) => s.end())]
  ports = await Promise.all(hosts.map((h) => new Promise<number>((resolve) => h.listen(0, '127.0.0.1', () => resolve((h.address() as {port: number}).port)))))
})
afterAll(async () => {
  await api.close()
  await Promise.all(hosts.map((h) => new Promise((resolve) => h.close(resolve))))
})

function project(steps = '[{weight: 1, bake: 1s}, {weight: 10, bake: 1s}, {weight: 50, bake: 1s, pause: true}]'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bfe-api-'))
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    [
      'service: checkout',
      `hosts: {stable: [127.0.0.1:${ports[0]}], gray: [{name: gray-1, address: "127.0.0.1:${ports[1]}"}]}`,
      'deploy: {command: ["true"]}',
      `gateway: {type: bfe, mode: api, url: "${api.url}", token: "\${BFE_TOKEN}", product: checkout, bfeClusters: [bfe-cluster1]}`,
      'traffic: {sticky: "cookie:uid"}',
      `steps: ${steps}`,
      '',
    ].join('\n'),
  )
  return dir
}

const cohortOf = (cluster: string) => (cluster.endsWith('_gray') ? 'gray' : 'stable')

describe('bfe api mode through bin/run.js', () => {
  it('validate --connect, a run to its 50% pause with every step read back, cohort predicts the fake, then rollback to stable', async () => {
    const dir = project()
    const env = {BFE_TOKEN: TOKEN}
    const v = await run(['validate', '--connect'], {cwd: dir, env})
    expect(v.exitCode, v.stderr + v.stdout).toBe(0)
    expect(v.stdout).toContain('reachable; no gray policy yet')

    const s = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json'], {cwd: dir, env, timeoutMs: 60_000})
    expect(s.exitCode, s.stderr).toBe(4)
    const doc = JSON.parse(s.stdout)
    expect(doc.run.state).toBe('waiting')
    expect(api.routes.forward_rules.map((r) => r.description)).toEqual(expect.arrayContaining([expect.stringMatching(/^gray:split:5000:/)]))
    // every step's publish was confirmed by a read-back of the routes
    expect(api.calls.filter((c) => c === 'PATCH /products/checkout/routes').length).toBeGreaterThanOrEqual(3)

    // users in gray at 1%, 10% and 50% and one in stable at 50%, by BFE's own hash, its ring turned by the run's cohort seed
    const seed = doc.run.cohortSeed as string
    expect(seed).toMatch(/^[0-9a-f]{8}$/)
    const find = (lo: number, hi: number) => {
      for (let i = 0; ; i++) if (BFE_MURMUR3.bucketOf(`u${i}`, seed) >= lo && BFE_MURMUR3.bucketOf(`u${i}`, seed) < hi) return `u${i}`
    }
    for (const user of [find(0, 100), find(100, 1000), find(1000, 5000), find(5000, 10_000)]) {
      const c = await run(['cohort', `uid=${user}`, '--json'], {cwd: dir, env})
      expect(c.exitCode, c.stderr).toBe(0)
      const predicted = JSON.parse(c.stdout) as {bucket: number; steps: Array<{weight: number; target: string}>}
      expect(predicted.bucket).toBe(BFE_MURMUR3.bucketOf(user, seed))
      const at50 = predicted.steps.find((step) => step.weight === 50)?.target
      expect(cohortOf(api.route({cookies: {uid: user}}).cluster), user).toBe(at50)
    }

    const r = await run(['rollback', '--yes', '--reason', 'checking'], {cwd: dir, env, timeoutMs: 60_000})
    expect(r.exitCode, r.stderr).toBe(3)
    expect(api.routes.forward_rules.every((rule) => rule.description.startsWith('gray:plain:0:'))).toBe(true)
    expect(cohortOf(api.route({cookies: {uid: find(0, 100)}}).cluster)).toBe('stable')
  }, 120_000)

  it('another writer keeps changing the routes: the step never confirms and the run holds (exit 4), naming what the API server shows', async () => {
    const dir = project('[{weight: 10, bake: 1s}]')
    api.afterRoutes = (routes) => {
      for (const rule of routes.forward_rules) rule.description = 'gray:split:300:theirs'
    }
    try {
      const s = await run(['start', '--version', 'v3', '--previous-version', 'v2', '--yes', '--json'], {cwd: dir, env: {BFE_TOKEN: TOKEN}, timeoutMs: 90_000})
      expect(s.exitCode, s.stderr).toBe(4)
      const doc = JSON.parse(s.stdout)
      expect(doc.run.state).toBe('paused')
      expect(JSON.stringify(doc)).toContain('shows revision theirs after gray wrote revision')
    } finally {
      api.afterRoutes = null
    }
  }, 120_000)

  it('a token the API server refuses: validate --connect names ErrNum 401 and gateway.token (exit 1), start refuses before writing anything (exit 1), the token is never printed', async () => {
    const dir = project('[{weight: 10, bake: 1s}]')
    const env = {BFE_TOKEN: 'wrong-token-Zz81'}
    const v = await run(['validate', '--connect'], {cwd: dir, env})
    expect(v.exitCode).toBe(1)
    expect(v.stdout + v.stderr).toMatch(/BFE's API server refused GET \/open-api\/v1\/products\/checkout: ErrNum 401, "Authenticate Fail: Token Not Exist"\. Check gateway\.token/)
    const s = await run(['start', '--version', 'v4', '--previous-version', 'v2', '--yes'], {cwd: dir, env, timeoutMs: 60_000})
    // start asks the API server before it writes anything: exit 1, no run
    expect(s.exitCode, s.stderr).toBe(1)
    expect(s.stderr).toMatch(/^gray: BFE's API server refused GET \/open-api\/v1\/products\/checkout: ErrNum 401/)
    expect(existsSync(path.join(dir, '.gray', 'checkout', 'runs'))).toBe(false)
    expect(s.stderr + s.stdout + v.stdout + v.stderr).not.toContain('wrong-token-Zz81')
  }, 120_000)

  it('a tag in api mode is a config error (exit 2) for validate and start, saying why, and nothing reaches the API server', async () => {
    const dir = project('[{weight: 10, bake: 1s}]')
    const file = path.join(dir, 'gray.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('traffic: {sticky: "cookie:uid"}', 'traffic: {sticky: "cookie:uid", tag: {header: X-Gray-Tag, value: gray}}'))
    const before = api.calls.length
    for (const args of [['validate'], ['start', '--version', 'v5', '--previous-version', 'v2', '--yes']]) {
      const r = await run(args, {cwd: dir, env: {BFE_TOKEN: TOKEN}})
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/^gray: traffic\.tag: must be left out: BFE's API server has no endpoint for mod_header rules/)
    }
    expect(api.calls.length).toBe(before)
  })
})
