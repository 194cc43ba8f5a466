// One crash case on PostgreSQL: the driver killed (SIGKILL, by GRAY_FAULT) at
// a journal point, a `promote` left in the inbox while nobody drives, then
// another driver from another working directory on the same database takes
// the run over once the dead holder's lease lapsed; the end state must be
// exactly right and the promote carried out by the successor.
//
// The two halves are apart so another kind of driver (./agent-kill.ts: a
// `gray agent`) is killed its own way and judged by the same assertions.
import {expect} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {PostgresBackend} from '../../src/state/postgres/backend.js'
import type {PostgresServer} from '../support/postgres.js'
import {gapFree, inFlight, pgCase, type DriverCommand, type PgCase} from './pg-world.js'
import {BAD, hostVersion, SERVICE, servedPolicy, type World} from './world.js'

/**
 * The journal points a driver is killed at on PostgreSQL, the CLI's and the agent's alike
 * (postgres-kill.test.ts, agent-kill.test.ts): across a completion of v2, then across the
 * rollback of a gray version that fails its gate.
 */
export const PG_KILL_POINTS: ReadonlyArray<readonly [point: string, version: string]> = [
  ['after:driver.attached', 'v2'],
  ['after:gateway.publish.started#1', 'v2'],
  ['after:gateway.publish.confirmed#1', 'v2'],
  ['after:host.deploy.started#1', 'v2'],
  ['before:host.deploy.succeeded#1', 'v2'],
  ['after:step.started#1', 'v2'],
  ['after:gate.measured#3', 'v2'],
  ['after:step.passed#1', 'v2'],
  ['after:host.deploy.started#2', 'v2'],
  ['after:run.completing', 'v2'],
  ['after:rollback.started', BAD],
  ['after:gateway.publish.started#3', BAD],
  ['after:host.deploy.started#2', BAD],
  ['before:run.rolled_back', BAD],
]

export interface PgKillCase {
  point: string
  version: string
  /** the driver killed, and the one that takes over */
  driver: DriverCommand
  successor?: DriverCommand
}

export async function pgKillAndTakeOver(world: World, server: PostgresServer, c: PgKillCase): Promise<void> {
  await world.reset()
  const pc = await pgCase(world, server)
  const errorsBefore = world.load.stats().errors
  const first = await pc.drive(c.driver, c.version, {first: true, env: {GRAY_FAULT: c.point}})
  expect(first.signal, `the driver was not killed at ${c.point}: ${String(first.stderr)}`).toBe('SIGKILL')
  const killed = await afterTheKill(pc, c.point)

  // a database lease cannot tell a dead holder from a live one before its TTL
  await pc.lapsed()
  const bad = c.version === BAD
  const second = await pc.drive(c.successor ?? c.driver, c.version, {cwd: pc.dirs[1]})
  expect(second.exitCode, `${c.point}: ${String(second.stderr)} ${String(second.stdout).slice(0, 3000)}`).toBe(bad ? 3 : 0)

  await expectTakenOver(world, pc, {point: c.point, version: c.version, errorsBefore, ...killed})
}

/** What the journal held when the driver died, and the promote a person posted while nobody drove. */
export interface Killed {
  atKill: JournalEvent[]
  promoteId: string
}

/**
 * Right after the kill: the journal is gap-free and ends where the driver died (the `#n`th event
 * of the point's type written, or not yet, as `after:` or `before:` says), and a person's promote
 * is posted while nothing drives.
 */
export async function afterTheKill(pc: PgCase, point: string): Promise<Killed> {
  const atKill = await pc.events()
  expect(gapFree(atKill)).toBe(true)
  const [, when, type, nth] = /^(before|after):([a-z_.]+)(?:#(\d+))?$/.exec(point) ?? []
  expect(type, `a kill point: ${point}`).toBeDefined()
  const written = atKill.filter((e) => e.type === type).length
  if (when === 'after') expect(written, `${type} events at the kill at ${point}`).toBeGreaterThanOrEqual(Number(nth ?? 1))
  else expect(written, `${type} events at the kill at ${point}`).toBe(Number(nth ?? 1) - 1)
  // a person's promote while nothing drives: the successor must carry it out
  const backend = await PostgresBackend.open(pc.url)
  const promote = await backend.postRequest(SERVICE, {kind: 'promote', actor: {user: 'oncall', host: 'laptop', pid: 1, ci: false}}).finally(() => backend.close())
  return {atKill, promoteId: promote.id}
}

/**
 * The end state once the successor finished the run: exactly right, whatever
 * drove it. `errorsBefore`: the load's error count before the case began.
 */
export async function expectTakenOver(world: World, pc: PgCase, c: Killed & {point: string; version: string; errorsBefore: number}): Promise<void> {
  const {atKill} = c
  const bad = c.version === BAD
  const events = await pc.events()
  const state = await pc.state()
  expect(state).not.toBeNull()
  expect(gapFree(events), `seq of ${events.map((e) => e.seq).join(',')}`).toBe(true)
  // nothing the dead driver journaled was lost or rewritten
  expect(events.slice(0, atKill.length)).toEqual(atKill)
  const terminal = events.filter((e) => ['run.completed', 'run.rolled_back', 'run.failed'].includes(e.type))
  expect(terminal.map((e) => e.type)).toEqual([bad ? 'run.rolled_back' : 'run.completed'])
  const attached = events.filter((e) => e.type === 'driver.attached')
  expect(attached.at(-1)!.data.takeover).toBe(true)
  expect(attached.at(-1)!.actor.pid).not.toBe(attached[0]!.actor.pid)

  // the promote posted while nobody drove was taken by the successor, once
  const received = events.filter((e) => e.type === 'request.received' && e.data.id === c.promoteId)
  expect(received, `${c.point}: the promote was lost`).toHaveLength(1)
  expect(received[0]!.actor.pid).toBe(attached.at(-1)!.actor.pid)

  // no step skipped or repeated
  const steps = events.filter((e) => e.type === 'step.started').map((e) => e.data.index)
  if (!bad) expect(steps).toEqual([0, 1, 2])
  else expect(steps).toEqual([...new Set(steps)])

  // the gateway serves what the journal says it serves
  const served = await servedPolicy(world)
  expect(served.revision).toBe(state!.applied!.revision)
  expect(served.mode).toBe('plain')

  const expected = bad ? 'v1' : c.version
  for (const h of world.hosts) {
    expect(await hostVersion(h), `${h.name} after ${c.point}`).toBe(expected)
    expect(state!.hosts.find((x) => x.address === h.address)!.version).toBe(expected)
  }

  // no host deployed twice, except one whose deploy was in flight at the kill
  const flying = inFlight(atKill, c.version)
  for (const h of world.hosts) {
    const starts = events.filter((e) => e.type === 'host.deploy.started' && e.data.host === h.address && e.data.version === c.version).length
    expect(starts, `${h.name} deploys of ${c.version} after ${c.point}`).toBeLessThanOrEqual(flying.has(h.address) ? 2 : 1)
    if (bad) {
      const reverts = events.filter((e) => e.type === 'host.deploy.started' && e.data.host === h.address && e.data.purpose === 'revert')
      const revertFlying = inFlight(atKill, 'v1').has(h.address)
      expect(reverts.length, `${h.name} reverts after ${c.point}`).toBeLessThanOrEqual(revertFlying ? 2 : 1)
    }
  }

  // nothing lost: every request through the gateway got an answer
  expect(world.load.stats().errors - c.errorsBefore, `requests lost after ${c.point}: ${world.load.stats().lastError}`).toBe(0)
}
