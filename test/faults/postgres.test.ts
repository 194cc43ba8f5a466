// PostgreSQL faults under a live driver (the run's state in a real server, one
// database per case): the driver cut off from the database (through a TCP
// proxy this file controls), the server stopped and restarted or killed with
// SIGKILL mid-run, two drivers racing for one run. Every side effect a cut-off
// driver could make after its lease lapsed would show at the gateway, which
// records each publish's time (./publish-log.ts) against the lease's lapse as
// the database tells it.
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {PostgresBackend} from '../../src/state/postgres/backend.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {startTcpProxy, type TcpProxy} from '../support/tcp-proxy.js'
import {cliStart, expectCompletedRun, pgCase, TTL_MS, type DriverCommand, type PgCase} from './pg-world.js'
import {publisherOf, startPublishLog, type PublishLog} from './publish-log.js'
import {SERVICE, startWorld, type World} from './world.js'

let world: World
let server: PostgresServer
let gateway: PublishLog
// real processes on a shared, loaded machine: each case gets more than the suite's 3 minutes
vi.setConfig({testTimeout: 420_000})

beforeAll(async () => {
  // durable: this file kills PostgreSQL mid-append, and a commit it acknowledged must survive that, as in production
  // (with synchronous_commit off a commit another connection already read could be lost with the WAL buffers)
  ;[world, server] = await Promise.all([startWorld(), startPostgres({durable: true})])
  gateway = await startPublishLog(world.admin)
}, 120_000)
afterAll(async () => Promise.all([world?.stop(), server?.destroy(), gateway?.stop()]), 120_000)
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

const driver: DriverCommand = cliStart
/** a long first bake, so the faults land while it bakes */
const steps = (firstBake: string) => ({steps: [{weight: 1, bake: firstBake}, {weight: 50, bake: '500ms', hosts: 1}, {weight: 100, bake: '500ms'}]})

async function worldCase(extra: Record<string, unknown> = {}): Promise<PgCase> {
  return pgCase(world, server, {gateway: {type: 'sandbox', listen: world.listen, admin: gateway.address}, ...extra})
}

/** the end state every case must reach (./pg-world.ts) */
const expectCompleted = (pc: PgCase, flyingAt: JournalEvent[] = []) => expectCompletedRun(world, pc, gateway, flyingAt)

/** runs `driver` again (from the other directory) until it is not refused for a live lease (exit 5) */
async function takeOver(pc: PgCase, version = 'v2'): Promise<Awaited<ReturnType<PgCase['drive']>>> {
  for (let i = 0; ; i++) {
    const r = await pc.drive(driver, version, {cwd: pc.dirs[1]})
    if (r.exitCode !== 5 || i > 30) return r
    expect(String(r.stderr)).toMatch(/shop is driven by cli \S+@\S+ \(pid \d+\) under lease epoch \d+/)
    await delay(200)
  }
}

describe.skipIf(skipWithoutPostgres)('a driver cut off from PostgreSQL', () => {
  let proxy: TcpProxy
  beforeEach(async () => {
    proxy = await startTcpProxy({host: '127.0.0.1', port: server.port})
    return () => proxy.close()
  })

  it('hearing nothing back from a commit (one-way cut) it makes no publish once its lease lapsed; another driver takes over after the TTL', async () => {
    const pc = await worldCase(steps('3s'))
    const first = pc.drive(driver, 'v2', {first: true, env: {GRAY_DATABASE_URL: proxy.via(pc.url)}})
    onTestFinished(() => void first.kill('SIGKILL'))
    await pc.until('the first bake', (s) => s.status === 'baking' && s.stepIndex === 0)
    const firstPid = (await pc.events()).find((e) => e.type === 'driver.attached')!.actor.pid
    // the next publish's intent reaches the database and commits; the reply, and every reply after, does not come back
    const heldAt = await proxy.holdRepliesAfter(/gateway\.publish\.started/, /COMMIT/)

    // another holder takes the lease the moment the database lets it: the test itself, so that a slow process
    // start on a loaded machine cannot miss the window before the cut-off driver's wait for its reply times out
    const taker = await PostgresBackend.open(pc.url)
    const lease = await taker.acquireLease(SERVICE, {user: 'successor', host: 'elsewhere', pid: process.pid, ci: false, kind: 'cli'}, {ttlMs: TTL_MS, waitMs: 9_000})
    const takenAt = Date.now()
    expect(lease.takenOverFrom).toMatchObject({pid: firstPid})
    // the link heals: the cut-off driver hears that its commit went through, after its lease lapsed and was taken
    proxy.heal()
    const late = await first
    expect(late.exitCode, String(late.stderr)).toBe(5)
    expect(String(late.stderr)).toMatch(/^gray: shop is no longer driven by this process/m)
    await lease.release()
    await taker.close()
    // and a new driver carries the run on from the journal
    const done = await takeOver(pc)
    expect(done.exitCode, String(done.stderr)).toBe(0)
    const {events} = await expectCompleted(pc)

    // who published when: nothing of the cut-off driver's reached the gateway after the cut
    // its last intent, committed as the link was cut: announced, never carried out
    const pending = events.filter((e) => e.type === 'gateway.publish.started' && e.actor.pid === firstPid).at(-1)!
    expect(Date.parse(pending.at)).toBeGreaterThanOrEqual(heldAt - 2_000)
    const byFirst = gateway.publishes.filter((p) => publisherOf(events, p.revision)?.actor.pid === firstPid)
    expect(byFirst.length).toBeGreaterThan(0)
    for (const p of byFirst) expect(p.at, `publish of ${p.revision} by the cut-off driver`).toBeLessThan(heldAt)
    expect(byFirst.map((p) => p.revision)).not.toContain(`${pending.data.revision}`)
    // the successor's publishes all came after the lease was taken from the cut-off driver
    for (const p of gateway.publishes.filter((x) => !byFirst.includes(x))) expect(p.at).toBeGreaterThanOrEqual(takenAt)
    const epochs = events.filter((e) => e.type === 'driver.attached').map((e) => Number(e.data.epoch))
    expect(epochs).toEqual([1, lease.epoch + 1])
  })

  it('black-holed mid-bake it stops (no publish, no deploy), and another driver takes over after the TTL and carries on', async () => {
    const pc = await worldCase(steps('3s'))
    const first = pc.drive(driver, 'v2', {first: true, env: {GRAY_DATABASE_URL: proxy.via(pc.url)}})
    onTestFinished(() => void first.kill('SIGKILL'))
    await pc.until('the first bake', (s, e) => s.status === 'baking' && s.stepIndex === 0 && e.some((x) => x.type === 'gate.measured'))
    const firstPid = (await pc.events()).find((e) => e.type === 'driver.attached')!.actor.pid
    proxy.cut('blackhole')
    const cutAt = Date.now()
    const atCut = await pc.events()
    const publishesAtCut = gateway.publishes.length

    const done = await takeOver(pc)
    expect(done.exitCode, String(done.stderr)).toBe(0)
    const late = await first
    expect(late.exitCode).not.toBe(0)
    expect(String(late.stderr)).toMatch(/^gray: (shop is no longer driven by this process|PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/\S+ is unreachable)/m)
    const {events} = await expectCompleted(pc, atCut)
    // after the cut, nothing by the first driver: not in the journal, not at the gateway
    expect(events.slice(atCut.length).filter((e) => e.actor.pid === firstPid)).toEqual([])
    expect(gateway.publishes.slice(publishesAtCut).filter((p) => publisherOf(events, p.revision)?.actor.pid === firstPid)).toEqual([])
    const attached = events.filter((e) => e.type === 'driver.attached').at(-1)!
    expect(attached.data.takeover).toBe(true)
    // the takeover came after the TTL, counted from the last heartbeat that got through (a third of the TTL before the cut at most)
    expect(Date.parse(attached.at) - cutAt).toBeGreaterThanOrEqual((2 * TTL_MS) / 3 - 100)
  })
})

describe.skipIf(skipWithoutPostgres)('two drivers racing for one run', () => {
  it(`two ${driver.name} of the same version at once: one drives, the other exits 5 naming it; after a kill -9, two successors race and again one drives`, async () => {
    const pc = await worldCase(steps('4s'))
    const [a, b] = [pc.drive(driver, 'v2', {first: true}), pc.drive(driver, 'v2', {first: true, cwd: pc.dirs[1]})]
    const which = await Promise.race([a.then(() => 0), b.then(() => 1)])
    const [lost, winner] = which === 0 ? [a, b] : [b, a]
    const loser = await lost
    expect(loser.exitCode, String(loser.stderr)).toBe(5)
    expect(String(loser.stderr)).toMatch(/^gray: shop is driven by cli \S+@\S+ \(pid \d+\) under lease epoch 1; wait for it/m)
    await pc.until('the first bake', (s) => s.status === 'baking' && s.stepIndex === 0)
    winner.kill('SIGKILL')
    await winner.catch(() => undefined)
    const atKill = await pc.events()
    expect(atKill.filter((e) => e.type === 'driver.attached')).toHaveLength(1)
    await pc.lapsed()

    const [c, d] = await Promise.all([pc.drive(driver, 'v2', {cwd: pc.dirs[0]}), pc.drive(driver, 'v2', {cwd: pc.dirs[1]})])
    expect([c.exitCode, d.exitCode].sort(), `${String(c.stderr)} ${String(d.stderr)}`).toEqual([0, 5])
    const refused = c.exitCode === 5 ? c : d
    expect(String(refused.stderr)).toMatch(/^gray: shop is driven by cli \S+@\S+ \(pid \d+\) under lease epoch 2; wait for it/m)
    const {events} = await expectCompleted(pc, atKill)
    expect(events.filter((e) => e.type === 'driver.attached').map((e) => e.data.takeover)).toEqual([false, true])
  })
})

describe.skipIf(skipWithoutPostgres)('the server goes away mid-bake', () => {
  it('stopped and restarted: no publish and no deploy while the driver cannot journal, then the run goes on with no gap and no duplicate', async () => {
    const pc = await worldCase(steps('6s'))
    const first = pc.drive(driver, 'v2', {first: true})
    onTestFinished(() => void first.kill('SIGKILL'))
    await pc.until('the first bake', (s, e) => s.status === 'baking' && s.stepIndex === 0 && e.some((x) => x.type === 'gate.measured'))
    const before = await pc.events()
    await server.stop()
    const stoppedAt = Date.now()
    const publishesAtStop = gateway.publishes.length
    await delay(2_000)
    await server.start()
    const restartedAt = Date.now()
    // nothing reached the gateway while the journal could not be written
    expect(gateway.publishes.slice(publishesAtStop).filter((p) => p.at >= stoppedAt && p.at < restartedAt)).toEqual([])

    // the same driver goes on when its lease outlived the outage; else another takes the run over
    const r = await first
    let successor: Awaited<ReturnType<typeof takeOver>> | null = null
    if (r.exitCode !== 0) {
      expect([1, 5], String(r.stderr)).toContain(r.exitCode)
      expect(String(r.stderr)).toMatch(/^gray: (PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/\S+ is unreachable|shop is no longer driven by this process)/m)
      successor = await takeOver(pc)
      expect(successor.exitCode, String(successor.stderr)).toBe(0)
    }
    const {events} = await expectCompleted(pc, before)
    expect(events.slice(0, before.length)).toEqual(before)
    const attached = events.filter((e) => e.type === 'driver.attached')
    if (successor) {
      // another process drives on at a later epoch; its takeover flag says whether the first one's lease had
      // lapsed or the first one released it as it exited (it does once the database is back), so it is not asserted
      expect(attached.at(-1)!.actor.pid).not.toBe(attached[0]!.actor.pid)
      expect(Number(attached.at(-1)!.data.epoch)).toBeGreaterThan(Number(attached[0]!.data.epoch))
    } else {
      expect(attached.every((e) => e.actor.pid === attached[0]!.actor.pid && !e.data.takeover)).toBe(true)
    }
  })

  it('killed with SIGKILL mid-append: after the restart the journal has no gap and no duplicate, each append committed whole or not at all', async () => {
    const pc = await worldCase(steps('6s'))
    const first = pc.drive(driver, 'v2', {first: true})
    onTestFinished(() => void first.kill('SIGKILL'))
    // gates measured every 250 ms: an append is in flight most of the time
    await pc.until('the first bake', (s, e) => s.status === 'baking' && s.stepIndex === 0 && e.filter((x) => x.type === 'gate.measured').length >= 2)
    const before = await pc.events()
    await server.kill()
    await delay(1_000)
    await server.start()
    const r = await first
    if (r.exitCode !== 0) {
      expect(String(r.stderr)).toMatch(/^gray: (PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/\S+ is unreachable|shop is no longer driven by this process)/m)
      const successor = await takeOver(pc)
      expect(successor.exitCode, String(successor.stderr)).toBe(0)
    }
    const {events} = await expectCompleted(pc, before)
    expect(events.slice(0, before.length)).toEqual(before)
    // the database agrees with itself: last_seq is the last event's seq
    const [run] = await pc.sql<{last_seq: number; n: string}>('SELECT last_seq, (SELECT count(*) FROM gray_events e WHERE e.run_id = r.run_id) AS n FROM gray_runs r')
    expect(run).toEqual({last_seq: events.length, n: String(events.length)})
  })
})
