// `state: {backend: postgres}` end to end through bin/run.js: a run started in
// one working directory (its gray.yaml names PostgreSQL by ${GRAY_DATABASE_URL}),
// then read and steered from another directory with no gray.yaml, only
// `--service` and the env var, as on-call would from a laptop. Real parts: a
// private PostgreSQL (test/support/postgres.ts) and the loopback control plane
// of the http gateway; the deploy is `true`.
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {gray, run, type CliResult} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'

const PASSWORD = 'pg-pw-7Qx2ZkV9'
const EDGE_TOKEN = 'edge-token-Uu55Vv66'

describe.skipIf(skipWithoutPostgres)('state on PostgreSQL: start here, status/promote/rollback from anywhere with --service', () => {
  let server: PostgresServer
  let plane: PolicyPlane
  let root: string
  /** every output of every command, to prove the password never leaves gray */
  const outputs: string[] = []

  beforeAll(async () => {
    ;[server, plane] = await Promise.all([startPostgres(), startPolicyPlane()])
    root = await mkdtemp(join(tmpdir(), 'gray-state-pg-'))
    // the URL's user is a secret too (docs/secrets.md): one that is no word of gray's output
    await server.query('CREATE ROLE oncall_user LOGIN SUPERUSER')
  }, 180_000)
  afterAll(async () => {
    await Promise.all([server?.destroy(), plane?.close()])
    if (root) await rm(root, {recursive: true, force: true})
  }, 180_000)

  /** a fresh database (its URL with a password: trust auth ignores it, gray must never show it), the directory with gray.yaml and one without */
  async function world(service: string, steps: string) {
    const bare = await server.createDatabase()
    const url = bare.replace('postgres://gray@', `postgres://oncall_user:${PASSWORD}@`)
    const withConfig = join(root, `${service}-ci`)
    const laptop = join(root, `${service}-laptop`)
    await Promise.all([mkdir(withConfig), mkdir(laptop)])
    await writeFile(
      join(withConfig, 'gray.yaml'),
      [
        `service: ${service}`,
        'state: {backend: postgres, url: "${GRAY_DATABASE_URL}"}',
        'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
        'deploy: {command: ["true"]}',
        // the gateway's token by reference: the laptop has it only where a test gives it
        `gateway: {type: http, url: "${plane.url}", token: "\${EDGE_TOKEN}"}`,
        'traffic: {sticky: "cookie:uid"}',
        `steps: ${steps}`,
        '',
      ].join('\n'),
    )
    const env = {GRAY_DATABASE_URL: url, GRAY_LOCK_STALE_MS: '3000', EDGE_TOKEN}
    const cli = async (args: string[], cwd: string, only?: Record<string, string>): Promise<CliResult> => {
      const r = await run(args, {cwd, env: only ?? env})
      outputs.push(r.stdout, r.stderr)
      return r
    }
    const status = async () => {
      const r = await cli(['status', '--service', service, '--json'], laptop)
      expect(r.exitCode, r.stderr).toBe(0)
      return JSON.parse(r.stdout) as {run: null | {state: string; step: {index: number}; driver: null | {kind?: string; pid: number; host: string; alive: boolean}; guarded?: boolean}}
    }
    const until = async (what: string, test: (doc: Awaited<ReturnType<typeof status>>) => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const doc = await status()
        if (test(doc)) return doc
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(doc.run)}`)
        await delay(300)
      }
    }
    const start = (version: string, extra: string[] = []) => {
      const child = gray(['start', '--version', version, '--previous-version', 'v1', '--yes', ...extra], {cwd: withConfig, env})
      return child.then((r) => {
        outputs.push(String(r.stdout), String(r.stderr))
        return r
      })
    }
    return {url, withConfig, laptop, env, cli, status, until, start}
  }

  it('a live CLI driver is named by status elsewhere, refuses a second start (exit 5), and carries out a promote sent from a directory with no gray.yaml', async () => {
    const w = await world('shop', '[{weight: 10, bake: 120s}, {weight: 100, bake: 1s}]')
    const driving = w.start('v2')
    const baking = await w.until('the bake of step 1, with a live driver', (d) => d.run?.state === 'baking' && Boolean(d.run.driver?.alive))
    expect(baking.run).toMatchObject({guarded: true, driver: {kind: 'cli', alive: true}})

    // the first process holds the lease: another start is refused, naming it, and writes nothing
    const second = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], w.withConfig)
    expect(second.exitCode, second.stderr).toBe(5)
    expect(second.stderr).toMatch(/shop is driven by cli .*\(pid \d+\)/)

    const history = await w.cli(['history', '--service', 'shop', '--json'], w.laptop)
    expect(history.exitCode, history.stderr).toBe(0)
    expect(JSON.parse(history.stdout)).toMatchObject({service: 'shop', runs: [{version: 'v2', outcome: 'baking'}]})

    const promoted = await w.cli(['promote', '--service', 'shop', '--yes', '--json'], w.laptop)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    const driven = await driving
    expect(driven.exitCode, String(driven.stderr)).toBe(0)

    const done = await w.status()
    expect(done.run).toMatchObject({state: 'completed', guarded: true, driver: null})
    // the promote was carried out by the driver that started the run, not by the laptop
    const events = await server.query<{type: string; actor: {pid: number}; data: {kind?: string}}>(
      "SELECT type, actor, data FROM gray_events e JOIN gray_runs r USING (run_id) WHERE r.service = 'shop' ORDER BY seq",
      [],
      new URL(w.url).pathname.slice(1),
    )
    const received = events.filter((e) => e.type === 'request.received')
    expect(received.map((e) => e.data.kind)).toEqual(['promote'])
    expect(received[0]?.actor.pid).toBe(baking.run?.driver?.pid)
    // nothing of the run was written to a journal directory: the state is the database's
    expect(existsSync(join(w.withConfig, '.gray', 'shop', 'runs'))).toBe(false)
    expect(existsSync(join(w.laptop, '.gray'))).toBe(false)
  }, 180_000)

  it('rollback from a directory with no gray.yaml is taken by the live driver (exit 3 for both)', async () => {
    const w = await world('cart', '[{weight: 10, bake: 120s}, {weight: 100, bake: 1s}]')
    const driving = w.start('v2')
    await w.until('the bake of step 1, with a live driver', (d) => d.run?.state === 'baking' && Boolean(d.run.driver?.alive))
    const rolled = await w.cli(['rollback', '--service', 'cart', '--reason', 'pager says so', '--yes', '--json'], w.laptop)
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    expect(JSON.parse(rolled.stdout).run).toMatchObject({state: 'rolled_back', reason: 'pager says so'})
    expect((await driving).exitCode).toBe(3)

    const report = await w.cli(['report', '--service', 'cart', '--output', join(w.laptop, 'cart.html'), '--json'], w.laptop)
    expect(report.exitCode, report.stderr).toBe(0)
    expect(JSON.parse(report.stdout)).toMatchObject({service: 'cart', state: 'rolled_back'})
  }, 180_000)

  it('a run left waiting is UNGUARDED in status; promote without a driver and without gray.yaml drives it from the config it started with, once the secrets\' variables are set', async () => {
    const w = await world('pay', '[{weight: 10, pause: true}, {weight: 100, bake: 1s}]')
    const started = await w.start('v2', ['--detach'])
    expect(started.exitCode, String(started.stderr)).toBe(4)

    const json = await w.cli(['status', '--service', 'pay', '--json'], w.laptop)
    expect(json.exitCode).toBe(0)
    // the start that drove it detached and gave its lease up: nobody drives it
    expect(JSON.parse(json.stdout).run).toMatchObject({state: 'waiting', guarded: false, driver: null, config: {hash: expect.stringMatching(/^[0-9a-f]{64}$/)}})
    expect(json.stderr).toContain('UNGUARDED')
    // the same where gray.yaml is (status's fast path, no --service)
    const here = await w.cli(['status', '--json'], w.withConfig)
    expect(here.exitCode, here.stderr).toBe(0)
    expect(JSON.parse(here.stdout).run).toMatchObject({state: 'waiting', guarded: false})
    expect(here.stderr).toContain('UNGUARDED')
    const human = await w.cli(['status', '--service', 'pay'], w.laptop)
    expect(human.stdout).toMatch(/driver: none/)
    expect(human.stdout).toContain('UNGUARDED')

    // the run's config reads ${EDGE_TOKEN}: unset on this laptop, nothing is done
    const before = (await w.cli(['history', '--service', 'pay', '--json'], w.laptop)).stdout
    const unset = await w.cli(['promote', '--service', 'pay', '--yes'], w.laptop, {GRAY_DATABASE_URL: w.url, GRAY_LOCK_STALE_MS: '3000'})
    expect(unset.exitCode).toBe(2)
    expect(unset.stderr).toMatch(/^gray: the run's config reads environment variable EDGE_TOKEN for gateway\.token, and it is unset here; nothing was done/)
    expect((await w.status()).run?.state).toBe('waiting')
    expect((await w.cli(['history', '--service', 'pay', '--json'], w.laptop)).stdout).toBe(before)

    // with it, the laptop drives the run in-process, with the config the run started with
    const sent = plane.authorizations.length
    const promoted = await w.cli(['promote', '--service', 'pay', '--yes', '--json'], w.laptop)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    expect(JSON.parse(promoted.stdout).run).toMatchObject({state: 'completed'})
    expect(plane.authorizations.slice(sent)).toContain(`Bearer ${EDGE_TOKEN}`)
    expect(existsSync(join(w.withConfig, 'gray.yaml'))).toBe(true)
  }, 180_000)

  it('on-call with only the database URL and the token rolls back a run whose driver died (kill -9), driving it from its frozen config', async () => {
    const w = await world('fund', '[{weight: 10, bake: 120s}, {weight: 100, bake: 1s}]')
    const first = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: w.withConfig, env: w.env})
    await w.until('the bake of step 1, with a live driver', (d) => d.run?.state === 'baking' && Boolean(d.run.driver?.alive))
    first.kill('SIGKILL')
    await first
    await w.until('the lease to lapse', (d) => d.run?.driver?.alive === false)

    const sent = plane.authorizations.length
    const rolled = await w.cli(['rollback', '--service', 'fund', '--reason', 'driver died at 3 a.m.', '--yes', '--json'], w.laptop)
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    expect(JSON.parse(rolled.stdout).run).toMatchObject({state: 'rolled_back', reason: 'driver died at 3 a.m.'})
    // the laptop published through the gateway of the frozen config, with the token of its own environment
    expect(plane.authorizations.slice(sent).length).toBeGreaterThan(0)
    expect(plane.authorizations.slice(sent).every((a) => a === `Bearer ${EDGE_TOKEN}`)).toBe(true)
    expect(plane.policy()).not.toBeNull()
    const events = await server.query<{type: string; actor: {pid: number}; data: Record<string, unknown>}>(
      "SELECT type, actor, data FROM gray_events e JOIN gray_runs r USING (run_id) WHERE r.service = 'fund' ORDER BY seq",
      [],
      new URL(w.url).pathname.slice(1),
    )
    expect(events.filter((e) => e.type === 'driver.attached').map((e) => e.data.takeover)).toEqual([false, true])
    expect(events.at(-1)?.type).toBe('run.rolled_back')
    // the journal holds the token's reference, never its value
    expect(events[0]?.data.effectiveConfig).toMatchObject({gateway: {token: '${EDGE_TOKEN}'}})
    expect(JSON.stringify(events)).not.toContain(EDGE_TOKEN)
  }, 180_000)

  it('a run started before runs kept their config: without a driver and without gray.yaml, promote refuses (exit 2) and changes nothing', async () => {
    const w = await world('old', '[{weight: 10, pause: true}, {weight: 100, bake: 1s}]')
    expect((await w.start('v2', ['--detach'])).exitCode).toBe(4)
    // as an older gray wrote it: run.started without the config
    await server.query("UPDATE gray_events SET data = data - 'effectiveConfig' - 'configHash' WHERE seq = 1", [], new URL(w.url).pathname.slice(1))
    const before = (await w.cli(['history', '--service', 'old', '--json'], w.laptop)).stdout
    const promoted = await w.cli(['promote', '--service', 'old', '--yes'], w.laptop)
    expect(promoted.exitCode).toBe(2)
    expect(promoted.stderr).toMatch(/^gray: no live driver and no gray\.yaml: old's run of v2 \(waiting\) is driven by nobody/)
    expect((await w.status()).run?.state).toBe('waiting')
    expect((await w.cli(['history', '--service', 'old', '--json'], w.laptop)).stdout).toBe(before)

    // where its gray.yaml is, the same request drives the run on, with gray.yaml as before
    const there = await w.cli(['promote', '--yes', '--json'], w.withConfig)
    expect(there.exitCode, there.stderr).toBe(0)
    expect((await w.status()).run).toMatchObject({state: 'completed', guarded: true})
    expect(await readdir(w.laptop)).toEqual([])
  }, 180_000)

  it('kill -9 of the driver mid-bake: its lease lapses, and `gray start` again takes the run over from the database and completes it', async () => {
    const w = await world('ship', '[{weight: 10, bake: 4s}, {weight: 50, bake: 120s}, {weight: 100, bake: 1s}]')
    const first = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: w.withConfig, env: w.env})
    await w.until('the bake of step 2, with a live driver', (d) => d.run?.state === 'baking' && d.run.step.index === 1 && Boolean(d.run.driver?.alive))
    first.kill('SIGKILL')
    await first
    // the killed holder's lease lives on until its TTL: then nothing guards the run, and status says so
    const lapsed = await w.until('the lease to lapse', (d) => d.run?.driver?.alive === false)
    expect(lapsed.run).toMatchObject({state: 'baking', guarded: false})

    const second = gray(['start', '--version', 'v2', '--yes'], {cwd: w.withConfig, env: w.env})
    await w.until('the new driver', (d) => Boolean(d.run?.driver?.alive) && d.run?.driver?.pid !== lapsed.run?.driver?.pid)
    const promoted = await w.cli(['promote', '--service', 'ship', '--yes'], w.laptop)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    const done = await second
    outputs.push(String(done.stdout), String(done.stderr))
    expect(done.exitCode, String(done.stderr)).toBe(0)

    const events = await server.query<{seq: number; type: string; data: {index?: number; takeover?: boolean}}>(
      "SELECT seq, type, data FROM gray_events e JOIN gray_runs r USING (run_id) WHERE r.service = 'ship' ORDER BY seq",
      [],
      new URL(w.url).pathname.slice(1),
    )
    events.forEach((e, i) => expect(e.seq).toBe(i + 1))
    expect(events.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0, 1, 2])
    expect(events.filter((e) => e.type === 'driver.attached').map((e) => e.data.takeover)).toEqual([false, true])
    expect(events.filter((e) => e.type === 'host.deploy.succeeded' && (e.data as {host?: string}).host === '127.0.0.1:10')).toHaveLength(1)
    expect((await w.status()).run?.state).toBe('completed')
  }, 240_000)

  it('the password in the state URL appears in no output', () => {
    expect(outputs.length).toBeGreaterThan(10)
    for (const text of outputs) {
      expect(text).not.toContain(EDGE_TOKEN)
      expect(text).not.toContain(PASSWORD)
      expect(text).not.toContain(encodeURIComponent(PASSWORD))
    }
  })
})
