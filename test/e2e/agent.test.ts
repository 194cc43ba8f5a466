// `gray agent` end to end through bin/run.js, on a real private PostgreSQL
// (test/support/postgres.ts) and the http gateway's loopback control plane
// (test/support/policy-plane.ts); the deploy appends the host to a file, so a
// host deployed twice shows. Two agents share one database; CI-style commands
// run from a directory with gray.yaml (start --detach) and from one without
// it (status, promote: only --service and GRAY_DATABASE_URL).
import {execa, type ResultPromise} from 'execa'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {BIN, run, type CliResult} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {freePort} from '../support/prometheus.js'

const TTL = '3s'
const PASSWORD = 'agent-pw-3Rk8Lm2Q'

interface StatusRun {
  state: string
  step: {index: number}
  driver: null | {kind?: string; pid: number; host: string; alive: boolean}
  guarded?: boolean
}

describe.skipIf(skipWithoutPostgres)('gray agent: runs driven by agents sharing PostgreSQL', () => {
  let server: PostgresServer
  let plane: PolicyPlane
  let root: string
  const agents: Array<{child: ResultPromise; port: number; log: () => string}> = []

  beforeAll(async () => {
    ;[server, plane] = await Promise.all([startPostgres(), startPolicyPlane()])
    root = await mkdtemp(join(tmpdir(), 'gray-agent-'))
    // the URL's user is a secret (docs/secrets.md): one that is no word of gray's output
    await server.query('CREATE ROLE agent_user LOGIN SUPERUSER')
  }, 180_000)
  afterEach(async () => {
    for (const a of agents.splice(0)) {
      a.child.kill('SIGKILL')
      await a.child.catch(() => undefined)
    }
  })
  afterAll(async () => {
    await Promise.all([server?.destroy(), plane?.close()])
    if (root) await rm(root, {recursive: true, force: true})
  }, 180_000)

  async function world(service: string, steps: string) {
    const url = (await server.createDatabase()).replace('postgres://gray@', `postgres://agent_user:${PASSWORD}@`)
    const ci = join(root, `${service}-ci`)
    const laptop = join(root, `${service}-laptop`)
    const agentDir = join(root, `${service}-agent`)
    await Promise.all([mkdir(ci), mkdir(laptop), mkdir(agentDir)])
    const deployed = join(root, `${service}-deployed.log`)
    const yaml = [
      `service: ${service}`,
      'state: {backend: postgres, url: "${GRAY_DATABASE_URL}"}',
      'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
      `deploy: {command: ["sh", "-c", "echo {host.address} {version} >> ${deployed}"]}`,
      `gateway: {type: http, url: "${plane.url}"}`,
      'traffic: {sticky: "cookie:uid"}',
      `steps: ${steps}`,
      '',
    ].join('\n')
    // the agents' copy and CI's copy of the same config, in different directories
    await Promise.all([writeFile(join(ci, 'gray.yaml'), yaml), writeFile(join(agentDir, `${service}.yaml`), yaml)])
    const env = {GRAY_DATABASE_URL: url, GRAY_LOCK_STALE_MS: '3000'}
    const cli = (args: string[], cwd: string, more: Record<string, string> = {}): Promise<CliResult> => run(args, {cwd, env: {...env, ...more}})
    const status = async (): Promise<{run: StatusRun | null}> => {
      const r = await cli(['status', '--service', service, '--json'], laptop)
      expect(r.exitCode, r.stderr).toBe(0)
      return JSON.parse(r.stdout)
    }
    const until = async (what: string, test: (run: StatusRun | null) => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const doc = await status()
        if (test(doc.run)) return doc.run as StatusRun
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(doc.run)}`)
        await delay(250)
      }
    }
    const agent = async (extra: string[] = [], more: {ttl?: string; env?: Record<string, string>} = {}) => {
      const port = await freePort()
      let out = ''
      const child = execa(process.execPath, [BIN, 'agent', '-c', agentDir, '--lease-ttl', more.ttl ?? TTL, '--listen', `127.0.0.1:${port}`, '--log', 'json', ...extra], {
        cwd: agentDir,
        env: {CI: '1', NO_COLOR: '1', ...env, ...more.env},
        reject: false,
        stdin: 'ignore',
      })
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()))
      const handle = {child, port, log: () => out}
      agents.push(handle)
      const deadline = Date.now() + 60_000
      while (!/drives /.test(out)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not start: ${out}`)
        await delay(100)
      }
      return handle
    }
    const events = () =>
      server.query<{seq: number; type: string; actor: {pid: number}; data: Record<string, unknown>}>(
        'SELECT seq, type, actor, data FROM gray_events e JOIN gray_runs r USING (run_id) WHERE r.service = $1 ORDER BY run_id, seq',
        [service],
        new URL(url).pathname.slice(1),
      )
    const deploys = async () => (await readFile(deployed, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean)
    return {url, ci, laptop, agentDir, env, cli, status, until, agent, events, deploys}
  }

  it('two agents and a CI-style sequence carry a run to completion: start --detach here, status and promote from a directory with no gray.yaml', async () => {
    const w = await world('shop', '[{weight: 10, pause: true}, {weight: 100, bake: 1s}]')
    const [a, b] = [await w.agent(), await w.agent()]

    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes', '--json'], w.ci)
    expect(started.exitCode, started.stderr).toBe(0)
    const doc = JSON.parse(started.stdout) as {runId: string; service: string; driver: {kind: string; pid: number}}
    expect(doc).toMatchObject({service: 'shop', driver: {kind: 'agent'}})
    expect([a.child.pid, b.child.pid]).toContain(doc.driver.pid)
    expect(doc.runId).toMatch(/\S/)

    // the step waits for promote; status from the laptop names the agent
    await w.until('the wait for promote', (r) => r?.state === 'waiting')
    const human = await w.cli(['status', '--service', 'shop'], w.laptop)
    expect(human.exitCode, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/driver: (agent on \S+ \(pid \d+|none)/)

    const promoted = await w.cli(['promote', '--service', 'shop', '--yes', '--json'], w.laptop)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    expect(JSON.parse(promoted.stdout).run).toMatchObject({state: 'completed'})

    const waited = await w.cli(['status', '--service', 'shop', '--wait', '--json'], w.laptop)
    expect(waited.exitCode, waited.stderr).toBe(0)
    const all = await w.events()
    all.forEach((e, i) => expect(e.seq).toBe(i + 1))
    // every driving event was written by one of the agents, never by the CLI processes
    const pids = new Set(all.filter((e) => e.type !== 'run.started').map((e) => e.actor.pid))
    for (const pid of pids) expect([a.child.pid, b.child.pid]).toContain(pid)
    expect(all.filter((e) => e.type === 'request.received').map((e) => e.data.kind)).toEqual(['promote'])
    expect((await w.deploys()).filter((l) => l.startsWith('127.0.0.1:10 v2'))).toHaveLength(1)
  }, 240_000)

  it('without --detach, start follows the run an agent drives and exits as an in-process drive would (4 at the wait, 0 once promoted)', async () => {
    const w = await world('cart', '[{weight: 10, bake: 1s}, {weight: 50, pause: true}, {weight: 100, bake: 1s}]')
    await w.agent()
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json'], w.ci)
    expect(started.exitCode, started.stderr).toBe(4)
    expect(JSON.parse(started.stdout).run).toMatchObject({state: 'waiting', step: {index: 1}})
    const promoted = await w.cli(['promote', '--yes', '--json'], w.ci)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    expect(JSON.parse(promoted.stdout).run).toMatchObject({state: 'completed'})
    // the CLI never drove: no driver.attached of its own
    const attached = (await w.events()).filter((e) => e.type === 'driver.attached')
    expect(attached.length).toBeGreaterThan(0)
  }, 240_000)

  it('kill -9 of the driving agent: the other takes the run over after the TTL, no step repeated, no host deployed twice', async () => {
    const w = await world('ship', '[{weight: 10, bake: 3s}, {weight: 50, bake: 120s}, {weight: 100, bake: 1s}]')
    const [a, b] = [await w.agent(), await w.agent()]
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes', '--json'], w.ci)
    expect(started.exitCode, started.stderr).toBe(0)
    const baking = await w.until('the bake of step 2', (r) => r?.state === 'baking' && r.step.index === 1 && Boolean(r.driver?.alive))
    const driving = [a, b].find((x) => x.child.pid === baking.driver?.pid)
    const other = [a, b].find((x) => x !== driving)
    expect(driving && other).toBeTruthy()
    driving?.child.kill('SIGKILL')
    await driving?.child.catch(() => undefined)
    const taken = await w.until('the other agent to take the run over', (r) => r?.driver?.alive === true && r.driver.pid === other?.child.pid, 30_000)
    expect(taken.state).toBe('baking')
    const promoted = await w.cli(['promote', '--service', 'ship', '--full', '--yes'], w.laptop)
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    await w.until('the end', (r) => r?.state === 'completed')

    const all = await w.events()
    all.forEach((e, i) => expect(e.seq).toBe(i + 1))
    expect(all.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0, 1])
    expect(all.filter((e) => e.type === 'driver.attached').map((e) => e.data.takeover)).toEqual([false, true])
    expect((await w.deploys()).filter((l) => l.startsWith('127.0.0.1:10 v2'))).toHaveLength(1)
    expect(other?.log()).toMatch(/over from agent/)
  }, 240_000)

  // The agent takes the lease of the run handed to it and dies before it attaches, its TTL longer than start's
  // wait for the hand-off: start said it drives the run here, but found the dead agent's lease still alive and
  // only followed it, then gave up (exit 1, nothing driving). It waits for the lease to lapse and drives it.
  it('an agent killed after it took a run handed to it, before it attached: start --detach drives the run itself once the lease lapsed', async () => {
    const w = await world('orphan', '[{weight: 10, bake: 1s}, {weight: 100, bake: 1s}]')
    const a = await w.agent([], {ttl: '6s', env: {GRAY_FAULT: 'before:driver.attached'}})
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes', '--json'], w.ci, {GRAY_AGENT_HANDOFF_MS: '1000'})
    expect((await a.child).signal, a.log()).toBe('SIGKILL')
    expect(started.exitCode, started.stderr).toBe(0)
    expect(started.stderr).toMatch(/no agent took run \S+ within 1 s, though one serves orphan; driving it here/)
    expect(JSON.parse(started.stdout).run).toMatchObject({state: 'completed'})
    const all = await w.events()
    all.forEach((e, i) => expect(e.seq).toBe(i + 1))
    // the agent wrote nothing; start drove the run, once
    expect(all.filter((e) => e.actor.pid === a.child.pid)).toEqual([])
    expect(all.filter((e) => e.type === 'driver.attached')).toHaveLength(1)
    expect(all.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0, 1])
    expect((await w.deploys()).filter((l) => l.startsWith('127.0.0.1:10 v2'))).toHaveLength(1)
  }, 240_000)

  it('an agent frozen past its TTL is taken over, and once it wakes it writes nothing: the journal has no event of it after the takeover', async () => {
    const w = await world('frozen', '[{weight: 10, bake: 20s}, {weight: 50, bake: 120s}, {weight: 100, bake: 1s}]')
    const [a, b] = [await w.agent(), await w.agent()]
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes'], w.ci)
    expect(started.exitCode, started.stderr).toBe(0)
    const baking = await w.until('a bake', (r) => r?.state === 'baking' && Boolean(r.driver?.alive))
    const frozen = [a, b].find((x) => x.child.pid === baking.driver?.pid)
    const other = [a, b].find((x) => x !== frozen)
    frozen?.child.kill('SIGSTOP')
    await w.until('the other agent to take over', (r) => r?.driver?.alive === true && r.driver.pid === other?.child.pid, 60_000)
    const takeover = (await w.events()).findLast((e) => e.type === 'driver.attached')?.seq ?? 0
    // it wakes with its bake's timers due: it finds it can no longer prove it holds the lease, and writes nothing
    frozen?.child.kill('SIGCONT')
    const deadline = Date.now() + 60_000
    while (!/no longer driven by this process/.test(frozen?.log() ?? '') && Date.now() < deadline) await delay(200)
    expect(frozen?.log()).toMatch(/no longer driven by this process/)
    await delay(3_000)
    const all = await w.events()
    expect(all.filter((e) => e.seq > takeover && e.actor.pid === frozen?.child.pid)).toEqual([])
    all.forEach((e, i) => expect(e.seq).toBe(i + 1))
    const steps = all.filter((e) => e.type === 'step.started').map((e) => e.data.index)
    expect(new Set(steps).size).toBe(steps.length)
    expect((await w.deploys()).filter((l) => l.startsWith('127.0.0.1:10 v2'))).toHaveLength(1)
    expect((await w.status()).run?.driver?.pid).toBe(other?.child.pid)
  }, 400_000)

  it('two agents racing for one run: exactly one drives it; /healthz and /metrics answer', async () => {
    const w = await world('race', '[{weight: 10, bake: 120s}, {weight: 100, bake: 1s}]')
    const racers = await Promise.all([w.agent(), w.agent(), w.agent()])
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes', '--json'], w.ci)
    expect(started.exitCode, started.stderr).toBe(0)
    await w.until('the bake', (r) => r?.state === 'baking')
    await delay(2_000)
    const all = await w.events()
    const writers = new Set(all.filter((e) => e.type !== 'run.started').map((e) => e.actor.pid))
    expect(writers.size).toBe(1)
    expect(all.filter((e) => e.type === 'driver.attached')).toHaveLength(1)
    const driver = racers.find((r) => writers.has(r.child.pid as number))
    expect(driver).toBeTruthy()

    for (const r of racers) {
      const health = await fetch(`http://127.0.0.1:${r.port}/healthz`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ok: true, services: [{service: 'race'}]})
    }
    const text = await (await fetch(`http://127.0.0.1:${driver?.port}/metrics`)).text()
    const samples = parseMetrics(text)
    expect(samples.get('gray_agent_up')).toBe(1)
    expect(samples.get('gray_runs{service="race",state="baking"}')).toBe(1)
    expect(samples.get('gray_lease_held{service="race"}')).toBe(1)
    expect(samples.get('gray_lease_age_seconds{service="race"}')).toBeGreaterThan(0)
    expect(samples.get('gray_publish_latency_seconds_count{service="race"}')).toBeGreaterThanOrEqual(1)
    expect(text).toMatch(/^# TYPE gray_runs gauge$/m)
    const idle = parseMetrics(await (await fetch(`http://127.0.0.1:${racers.find((r) => r !== driver)?.port}/metrics`)).text())
    expect(idle.get('gray_lease_held{service="race"}')).toBe(0)
    expect((await fetch(`http://127.0.0.1:${driver?.port}/nope`)).status).toBe(404)

    // SIGTERM of the driver: it hands the run back at once (exit 0) and another agent takes it
    driver?.child.kill('SIGTERM')
    const ended = await driver?.child
    expect(ended?.exitCode, driver?.log()).toBe(0)
    const next = await w.until('another agent to take the run', (r) => Boolean(r?.driver?.alive) && r?.driver?.pid !== driver?.child.pid, 30_000)
    expect(racers.map((r) => r.child.pid)).toContain(next.driver?.pid)
    expect(driver?.log()).toMatch(/released the lease/)
    // --log json: one object per line, with time, level, service, run and message; never the URL's password
    for (const r of racers) {
      const lines = r.log().trim().split('\n')
      expect(lines.length).toBeGreaterThan(1)
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>
        expect(Object.keys(entry).every((k) => ['time', 'level', 'service', 'run', 'message'].includes(k)), line).toBe(true)
        expect(entry).toMatchObject({time: expect.any(String), level: expect.stringMatching(/^(info|warn|error)$/), message: expect.any(String)})
      }
      expect(r.log()).not.toContain(PASSWORD)
    }
    expect(driver?.log()).toMatch(/"service":"race","run":"[^"]+","message":"gate|"message":"took the run/)
    const after = await w.events()
    after.forEach((e, i) => expect(e.seq).toBe(i + 1))
    // the next agent attached after the last event of the one that handed the run back ("released the lease" above)
    const reattached = after.findLast((e) => e.type === 'driver.attached')
    expect(reattached?.actor.pid).toBe(next.driver?.pid)
    expect(reattached?.seq).toBeGreaterThan(after.findLast((e) => e.actor.pid === driver?.child.pid)?.seq ?? Infinity)
    expect(after.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0])
  }, 240_000)

  // the agent guards the wait (DriverOptions.guardWaits): the gates are measured there and a failing one rolls back
  it('a run whose gray version fails while it waits for promote is rolled back by the agent', async () => {
    const w = await world('guard', '[{weight: 10, pause: true}, {weight: 100, bake: 1s}]')
    const value = join(root, 'guard-errors.txt')
    await writeFile(value, '0\n')
    // the same config with a gate: a command source that reads the gray version's error count from a file
    const gate = [
      `metrics: {file: {type: command, command: ["sh", "-c", "cat ${value}"], timeout: 5s}}`,
      'gates: {interval: 1s, checks: [{name: errors, source: file, query: "errors {version}", max: 5, critical: true}]}',
      '',
    ].join('\n')
    for (const file of [join(w.ci, 'gray.yaml'), join(w.agentDir, 'guard.yaml')]) await writeFile(file, (await readFile(file, 'utf8')) + gate)
    await w.agent()
    const started = await w.cli(['start', '--version', 'v2', '--previous-version', 'v1', '--detach', '--yes', '--json'], w.ci)
    expect(started.exitCode, started.stderr).toBe(0)
    const waiting = await w.until('the wait for promote, guarded', (r) => r?.state === 'waiting' && Boolean(r.driver?.alive))
    expect(waiting.guarded).toBe(true)
    await writeFile(value, '50\n')
    const ended = await w.until('the rollback', (r) => r?.state === 'rolled_back', 60_000)
    expect(ended.state).toBe('rolled_back')
    const all = await w.events()
    expect(all.some((e) => e.type === 'gate.measured' && e.data.verdict === 'fail')).toBe(true)
    expect(all.filter((e) => e.type === 'request.received')).toEqual([])
  }, 240_000)

  it('refuses a bad config among several before anything starts (exit 2, one error)', async () => {
    const w = await world('bad', '[{weight: 100, bake: 1s}]')
    await writeFile(join(w.agentDir, 'broken.yaml'), 'service: broken\nsteps: nope\n')
    const r = await run(['agent', '-c', w.agentDir, '--listen', 'off'], {cwd: w.agentDir, env: w.env, timeoutMs: 60_000})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^gray: .*broken\.yaml/m)
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('gray:'))).toHaveLength(1)
    expect(await server.query('SELECT 1 FROM gray_agents', [], new URL(w.url).pathname.slice(1)).catch(() => [])).toEqual([])
  }, 120_000)
})

/** Prometheus text: `name{labels} value` lines into a map */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (!m) throw new Error(`not a metrics line: ${line}`)
    out.set(m[1] as string, Number(m[2]))
  }
  return out
}
