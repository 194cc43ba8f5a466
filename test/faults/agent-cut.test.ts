// A `gray agent` cut off from PostgreSQL while it bakes a run: agent A reaches
// the database through a TCP proxy this file controls (../support/tcp-proxy.ts),
// agent B, started from another working directory, straight. The proof is the
// gateway's log of who published when (./publish-log.ts): nothing of A's
// reached the gateway once it was cut off, B published only once it held the
// lease, and the run ends as every cut run must (pg-world.ts's
// expectCompletedRun). A itself must not exit: it stops driving the run it
// lost, keeps serving (/healthz), and once the link is back it is the agent
// that takes and completes the next run (docs/agent.md, Failover).
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {isTerminal} from '../../src/core/run/state.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {startTcpProxy, type TcpProxy} from '../support/tcp-proxy.js'
import {agentPids, detachedStart, exited, killAgents, startAgent, type AgentProcess} from './agent-kill.js'
import {expectCompletedRun, pgCase, TTL_MS, type LeaseRow, type PgCase} from './pg-world.js'
import {publisherOf, startPublishLog, type PublishLog} from './publish-log.js'
import {hostVersion, servedPolicy, startWorld, type World} from './world.js'

// real processes on a shared, loaded machine: each case gets more than the suite's 3 minutes
vi.setConfig({testTimeout: 420_000})

let world: World
let server: PostgresServer
let gateway: PublishLog
beforeAll(async () => {
  ;[world, server] = await Promise.all([startWorld(), startPostgres()])
  gateway = await startPublishLog(world.admin)
}, 120_000)
afterAll(async () => {
  await killAgents()
  await Promise.all([world?.stop(), server?.destroy(), gateway?.stop()])
}, 120_000)
beforeEach(async () => {
  // on a loaded machine the sandbox may answer a reset late: try again
  for (let i = 0; ; i++) {
    try {
      await world.reset()
      break
    } catch (error) {
      if (i >= 2) throw error
    }
  }
  gateway.publishes.length = 0
})

/** a long first bake: B is up, and the cut lands, while A bakes */
const STEPS = {steps: [{weight: 1, bake: '8s'}, {weight: 50, bake: '500ms', hosts: 1}, {weight: 100, bake: '500ms'}]}

interface Drive {
  pc: PgCase
  a: AgentProcess
  b: AgentProcess
}

/** A (through the proxy) is handed v2 by `gray start --detach` and drives it; then B starts, and waits */
async function agentThroughProxy(proxy: TcpProxy): Promise<Drive> {
  const pc = await pgCase(world, server, {gateway: {type: 'sandbox', listen: world.listen, admin: gateway.address}, ...STEPS})
  onTestFinished(killAgents)
  const a = await startAgent(pc, pc.dirs[0], {GRAY_DATABASE_URL: proxy.via(pc.url)})
  const started = await pc.drive(detachedStart, 'v2', {first: true})
  expect(started.exitCode, `${String(started.stderr)}\nagent A: ${a.log().slice(-3000)}`).toBe(0)
  expect(JSON.parse(String(started.stdout))).toMatchObject({driver: {kind: 'agent', pid: a.pid}})
  // B only now, so that the run was A's to take
  const b = await startAgent(pc, pc.dirs[1])
  return {pc, a, b}
}

async function health(a: AgentProcess): Promise<{ok: boolean; services: Array<{service: string; driving: string | null}>}> {
  return (await (await fetch(`http://127.0.0.1:${a.port}/healthz`)).json()) as {ok: boolean; services: Array<{service: string; driving: string | null}>}
}

/** the run's end (driven by B), then the link healed and A, which lost the run, idle: the run's journal as it ends */
async function endOfCutRun({pc, a, b}: Drive, proxy: TcpProxy, flyingAt: JournalEvent[]) {
  const logs = () => `\nagent A: ${a.log().slice(-3000)}\nagent B: ${b.log().slice(-3000)}`
  const end = await pc.until('the cut run to end', (s) => isTerminal(s), 150_000).catch((error: Error) => {
    throw new Error(`${error.message}${logs()}`)
  })
  expect(end.status, logs()).toBe('completed')
  proxy.heal()
  // A gave up the run it lost, whatever it was waiting on when cut off (its writes time out after 10 s)
  const deadline = Date.now() + 60_000
  while ((await health(a)).services[0]!.driving !== null) {
    if (Date.now() > deadline) throw new Error(`agent A still drives the run it lost${logs()}`)
    await delay(200)
  }
  // …and stays up, serving: losing one run's lease is no reason to exit
  expect(a.child.exitCode, logs()).toBeNull()
  expect(a.child.signalCode, logs()).toBeNull()
  expect(await health(a)).toEqual({ok: true, services: [{service: 'shop', driving: null}]})
  // it said why it stopped driving, in one line (the lease lost, or the database out of reach), with no stack trace
  expect(a.log()).toMatch(/ (warn +|error) shop \S+: (stopped driving: shop is no longer driven by this process|the drive failed: PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/\S+ is unreachable)/)
  expect(a.log()).not.toMatch(/^\s+at /m)
  // read now, with A reconnected: a late write of A's would be in it
  return expectCompletedRun(world, pc, gateway, flyingAt)
}

/**
 * B stops (exit 0); the next run, v3, is handed to A, the only agent left, which drives it to its end
 * through the healed link under a higher epoch; then A stops and no agent of the case is left.
 */
async function nextRunByA({pc, a, b}: Drive, cutRun: JournalEvent[]) {
  b.child.kill('SIGTERM')
  expect((await exited(b, 'stopping B', 60_000)).exitCode, b.log()).toBe(0)
  const started = await pc.drive(detachedStart, 'v3')
  expect(started.exitCode, `${String(started.stderr)}\nagent A: ${a.log().slice(-3000)}`).toBe(0)
  expect(JSON.parse(String(started.stdout))).toMatchObject({driver: {kind: 'agent', pid: a.pid}})
  const end = await pc.until('the next run to end', (s) => s.version === 'v3' && isTerminal(s), 150_000).catch((error: Error) => {
    throw new Error(`${error.message}\nagent A: ${a.log().slice(-3000)}`)
  })
  expect(end.status, a.log().slice(-3000)).toBe('completed')
  const events = await pc.events()
  expect(events.filter((e) => e.type === 'driver.attached').map((e) => e.actor.pid)).toEqual([a.pid])
  expect((await servedPolicy(world)).revision).toBe(end.applied!.revision)
  for (const h of world.hosts) expect(await hostVersion(h), h.name).toBe('v3')
  // the lease's epochs only ever go up: A, B (taking over from A), then A again
  const epochs = [...cutRun, ...events].filter((e) => e.type === 'driver.attached').map((e) => Number(e.data.epoch))
  expect(epochs).toHaveLength(3)
  expect(epochs[1]).toBeGreaterThan(epochs[0]!)
  expect(epochs[2]).toBeGreaterThan(epochs[1]!)

  a.child.kill('SIGTERM')
  expect((await exited(a, 'stopping A', 60_000)).exitCode, a.log()).toBe(0)
  expect(agentPids(pc.dirs)).toEqual([])
}

/** polls the lease row until `test` holds */
async function leaseUntil(pc: PgCase, what: string, test: (row: LeaseRow) => boolean, timeoutMs = 60_000): Promise<LeaseRow> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const row = await pc.lease()
    if (row && test(row)) return row
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the lease: ${JSON.stringify(row)}`)
    await delay(50)
  }
}

describe.skipIf(skipWithoutPostgres)('a gray agent cut off from PostgreSQL while it bakes', () => {
  let proxy: TcpProxy
  beforeEach(async () => {
    proxy = await startTcpProxy({host: '127.0.0.1', port: server.port})
    return () => proxy.close()
  })

  it('hearing nothing back from a commit (one-way cut) it publishes nothing more; agent B takes over once the lease lapsed and only then publishes; A keeps serving and takes the next run', async () => {
    const drive = await agentThroughProxy(proxy)
    const {pc, a, b} = drive
    // the next publish's intent reaches the database and commits; the reply, and every reply to A after it, does not come back
    const heldAt = await proxy.holdRepliesAfter(/gateway\.publish\.started/, /COMMIT/)
    // B takes the lease over once A's heartbeats stopped reaching the database for a TTL
    const taken = await leaseUntil(pc, 'B to take the lease over', (l) => l.holder?.pid === b.pid && l.alive)
    const takenAt = taken.acquired_at!.getTime()
    expect(takenAt - heldAt).toBeGreaterThanOrEqual((2 * TTL_MS) / 3 - 100)
    // the link heals (endOfCutRun) once the run ended: A then hears its commit went through, long after its lease was taken

    const {events} = await endOfCutRun(drive, proxy, [])
    const pending = events.filter((e) => e.type === 'gateway.publish.started' && e.actor.pid === a.pid).at(-1)!
    // its last intent, committed as the link was cut: announced, never carried out
    expect(Date.parse(pending.at)).toBeGreaterThanOrEqual(heldAt - 2_000)
    const byA = gateway.publishes.filter((p) => publisherOf(events, p.revision)?.actor.pid === a.pid)
    expect(byA.length).toBeGreaterThan(0)
    for (const p of byA) expect(p.at, `publish of ${p.revision} by the cut-off agent`).toBeLessThan(heldAt)
    expect(byA.map((p) => p.revision)).not.toContain(`${pending.data.revision}`)
    // every other publish is B's, and came after B held the lease
    const byB = gateway.publishes.filter((p) => !byA.includes(p))
    expect(byB.length).toBeGreaterThan(0)
    for (const p of byB) {
      expect(publisherOf(events, p.revision)?.actor.pid, `publish of ${p.revision}`).toBe(b.pid)
      expect(p.at, `publish of ${p.revision} by B`).toBeGreaterThanOrEqual(takenAt)
    }
    // nothing of A's in the journal after that intent, even once the link was back
    expect(events.filter((e) => e.seq > pending.seq && e.actor.pid === a.pid)).toEqual([])
    const attached = events.filter((e) => e.type === 'driver.attached')
    expect(attached.map((e) => [e.actor.pid, e.data.takeover])).toEqual([
      [a.pid, false],
      [b.pid, true],
    ])
    expect(Number(attached[1]!.data.epoch)).toBe(Number(taken.epoch))
    expect(Number(attached[1]!.data.epoch)).toBeGreaterThan(Number(attached[0]!.data.epoch))

    await nextRunByA(drive, events)
  })

  it('black-holed mid-bake it stops (no journal write, no publish, no deploy); agent B takes over after the TTL and completes the run; A keeps serving and takes the next run', async () => {
    const drive = await agentThroughProxy(proxy)
    const {pc, a, b} = drive
    const measured = (e: JournalEvent[]) => e.filter((x) => x.type === 'gate.measured').length
    const before = measured(await pc.events())
    await pc.until('A measuring a bake', (s, e) => s.status === 'baking' && measured(e) > before)
    proxy.cut('blackhole')
    const cutAt = Date.now()
    const atCut = await pc.events()
    const publishesAtCut = gateway.publishes.length

    const {events} = await endOfCutRun(drive, proxy, atCut)
    // after the cut, nothing by A: not in the journal, not at the gateway, even once the link was back
    expect(events.slice(atCut.length).filter((e) => e.actor.pid === a.pid)).toEqual([])
    expect(gateway.publishes.slice(publishesAtCut).filter((p) => publisherOf(events, p.revision)?.actor.pid !== b.pid)).toEqual([])
    const attached = events.filter((e) => e.type === 'driver.attached')
    expect(attached.map((e) => [e.actor.pid, e.data.takeover])).toEqual([
      [a.pid, false],
      [b.pid, true],
    ])
    // B took over after the TTL, counted from A's last heartbeat that got through (a third of the TTL before the cut at most)
    expect(Date.parse(attached[1]!.at) - cutAt).toBeGreaterThanOrEqual((2 * TTL_MS) / 3 - 100)
    // B's publishes came after it attached
    for (const p of gateway.publishes.slice(publishesAtCut)) expect(p.at).toBeGreaterThanOrEqual(Date.parse(attached[1]!.at))

    await nextRunByA(drive, events)
  })
})
