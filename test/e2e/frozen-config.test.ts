// A run keeps the config it started with (docs/state.md, "A run's config"): a
// gray.yaml edited while the run waits at a pause step is shown as a diff and
// refused by promote and by start's takeover (exit 2, nothing written), driven
// by promote --adopt-config (journaled as config.adopted) and by rollback with
// the run's own config. A credential written into gray.yaml itself is refused at
// start. Real parts: the built CLI and the loopback control plane of the http gateway.
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'

const TOKEN = 'edge-token-Qq11Rr22'

describe('a run drives with the config it started with', () => {
  let plane: PolicyPlane
  const dirs: string[] = []
  const outputs: string[] = []
  const env = {EDGE_TOKEN: TOKEN, GRAY_LOCK_STALE_MS: '3000'}

  beforeAll(async () => {
    plane = await startPolicyPlane()
  })
  afterAll(async () => {
    await plane?.close()
    for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  })

  /** gray.yaml for `service`; `hooks` (a YAML line) is what the edits add */
  function world(service: string) {
    const dir = mkdtempSync(path.join(tmpdir(), `gray-frozen-${service}-`))
    dirs.push(dir)
    const write = (bake: string, hooks = '') =>
      writeFileSync(
        path.join(dir, 'gray.yaml'),
        [
          `service: ${service}`,
          'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
          'deploy: {command: ["true"]}',
          `gateway: {type: http, url: "${plane.url}", token: "\${EDGE_TOKEN}"}`,
          'traffic: {sticky: "cookie:uid"}',
          `steps: [{weight: 10, pause: true}, {weight: 100, bake: ${bake}}]`,
          hooks,
          '',
        ].join('\n'),
      )
    const cli = async (...args: string[]) => {
      const r = await run([...args, '--yes'], {cwd: dir, env})
      outputs.push(r.stdout, r.stderr)
      return r
    }
    const journal = () => {
      const runs = path.join(dir, '.gray', service, 'runs')
      const [file] = readdirSync(runs)
      return readFileSync(path.join(runs, file as string), 'utf8')
    }
    const events = () => journal().trim().split('\n').map((line) => JSON.parse(line) as {type: string; data: Record<string, unknown>})
    /** a hook that leaves a file named `name` beside gray.yaml: proof of which config drove */
    const marker = (stage: string, name: string) => `hooks: {${stage}: ["${process.execPath}", "-e", "require('fs').writeFileSync(process.argv[1], 'ran')", "${path.join(dir, name)}"]}`
    return {dir, write, cli, journal, events, marker}
  }

  it('promote refuses an edited gray.yaml with the changed keys and writes nothing; --adopt-config journals config.adopted and drives with the new config', async () => {
    const w = world('shop')
    w.write('1s')
    const started = await w.cli('start', '--version', 'v2', '--previous-version', 'v1', '--detach')
    expect(started.exitCode, started.stderr).toBe(4)
    const first = w.events()[0]
    expect(first?.type).toBe('run.started')
    expect(first?.data.configHash).toMatch(/^[0-9a-f]{64}$/)
    expect(first?.data.effectiveConfig).toMatchObject({gateway: {type: 'http', token: '${EDGE_TOKEN}'}, steps: [{weight: 10, pause: true}, {weight: 100, bakeMs: 1000}]})

    // the edit: a longer last bake, and a hook that says whether the new config drove
    w.write('2s', w.marker('onComplete', 'completed-by-new-config'))
    const before = w.journal()
    const refused = await w.cli('promote')
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain('gray: the run was started with a different gray.yaml; pass --adopt-config to drive with the new one')
    expect(refused.stderr).toMatch(/changed: steps\[1\]\.bake: 1s → 2s; hooks: \(none\) → \{.*"onComplete":\[.*\]\}; nothing was done/)
    expect(w.journal()).toBe(before)

    // start taking the unfinished run over is refused the same way
    const takeover = await w.cli('start', '--version', 'v2', '--json')
    expect(takeover.exitCode).toBe(2)
    expect(JSON.parse(takeover.stdout).error).toMatchObject({message: 'the run was started with a different gray.yaml; pass --adopt-config to drive with the new one', exitCode: 2})
    expect(w.journal()).toBe(before)
    const waiting = JSON.parse((await w.cli('status', '--json')).stdout)
    expect(waiting.run).toMatchObject({state: 'waiting', config: {hash: first?.data.configHash, startedHash: first?.data.configHash}})
    expect(waiting.run.config.adopted).toBeUndefined()

    const adopted = await w.cli('promote', '--adopt-config', '--json')
    expect(adopted.exitCode, adopted.stderr).toBe(0)
    const events = w.events()
    const adoption = events.find((e) => e.type === 'config.adopted')
    expect(adoption?.data).toMatchObject({previousHash: first?.data.configHash, changed: ['steps[1].bake', 'hooks']})
    expect(adoption?.data.hash).not.toBe(first?.data.configHash)
    // journaled before this driver attached and took the promote: the new config drove the rest
    expect(events.map((e) => e.type).indexOf('config.adopted')).toBeLessThan(events.map((e) => e.type).lastIndexOf('driver.attached'))
    expect(existsSync(path.join(w.dir, 'completed-by-new-config'))).toBe(true)
    const done = JSON.parse(adopted.stdout)
    expect(done.run).toMatchObject({state: 'completed', config: {hash: adoption?.data.hash, startedHash: first?.data.configHash, adopted: {hash: adoption?.data.hash, changed: adoption?.data.changed}}})
  }, 120_000)

  it('rollback is never blocked by an edited gray.yaml: it drives with the run\'s own config and says so', async () => {
    const w = world('cart')
    w.write('1s')
    expect((await w.cli('start', '--version', 'v2', '--previous-version', 'v1', '--detach')).exitCode).toBe(4)
    w.write('1s', w.marker('onRollback', 'rolled-back-by-new-config'))
    const rolled = await w.cli('rollback', '--reason', '3 a.m.')
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    expect(rolled.stderr).toMatch(/gray\.yaml differs from the config this run drives with \(hooks: \(none\) → \{.*"onRollback".*\}\); driving with the run's own config/)
    expect(existsSync(path.join(w.dir, 'rolled-back-by-new-config'))).toBe(false)
    expect(w.events().some((e) => e.type === 'config.adopted')).toBe(false)
    expect(w.events().at(-1)?.type).toBe('run.rolled_back')
  }, 120_000)

  it('start refuses (exit 2) a credential written into gray.yaml itself, naming the field, and writes no journal', async () => {
    const w = world('pay')
    w.write('1s')
    const literal = 'literal-token-Ss33Tt44'
    writeFileSync(path.join(w.dir, 'gray.yaml'), readFileSync(path.join(w.dir, 'gray.yaml'), 'utf8').replace('"${EDGE_TOKEN}"', `"${literal}"`))
    const refused = await w.cli('start', '--version', 'v2', '--previous-version', 'v1')
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/^gray: gateway\.token: must take its secret from the environment, written "\$\{VAR\}"/)
    expect(refused.stdout + refused.stderr).not.toContain(literal)
    expect(existsSync(path.join(w.dir, '.gray', 'pay', 'runs'))).toBe(false)
  }, 60_000)

  it('no output holds the token', () => {
    expect(outputs.length).toBeGreaterThan(8)
    for (const text of outputs) expect(text).not.toContain(TOKEN)
  })
})
