// One crash case: `gray start` killed (SIGKILL, by GRAY_FAULT) at a journal
// point, then `gray start` again; the end state must be exactly right.
import {expect} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {gray} from '../support/cli.js'
import {BAD, caseDir, hostVersion, journalOf, servedPolicy, type World} from './world.js'

// A short staleness limit so takeovers are quick, but twice the minimum: on a
// loaded two-core machine a live driver's heartbeat was once 2 s late, and the
// driver rightly gave the lock up (exit 5).
export const ENV = {GRAY_LOCK_STALE_MS: '4000'}

export interface KillCase {
  point: string
  /** the version rolled out: v2 completes, BAD is rolled back by the gates */
  version: string
}

/** Hosts whose deploy had started and not ended when the driver died: only these may be deployed again. */
function inFlight(events: JournalEvent[], version: string): Set<string> {
  const open = new Set<string>()
  for (const e of events) {
    if (e.data.version !== version) continue
    if (e.type === 'host.deploy.started') open.add(String(e.data.host))
    if (e.type === 'host.deploy.succeeded' || e.type === 'host.deploy.failed') open.delete(String(e.data.host))
  }
  return open
}

export async function killAndTakeOver(world: World, c: KillCase): Promise<void> {
  await world.reset()
  const dir = caseDir(world)
  const errorsBefore = world.load.stats().errors
  const first = await gray(['start', '--version', c.version, '--previous-version', 'v1', '--yes'], {cwd: dir, env: {...ENV, GRAY_FAULT: c.point}})
  expect(first.signal, `the driver was not killed at ${c.point}: ${first.stderr}`).toBe('SIGKILL')
  const atKill = (await journalOf(dir)).events

  const second = await gray(['start', '--version', c.version, '--yes', '--json'], {cwd: dir, env: ENV})
  const bad = c.version === BAD
  expect(second.exitCode, `${c.point}: ${second.stderr} ${String(second.stdout).slice(0, 3000)}`).toBe(bad ? 3 : 0)

  const {events, state} = await journalOf(dir)
  expect(state).not.toBeNull()
  events.forEach((e, i) => expect(e.seq).toBe(i + 1))
  const terminal = events.filter((e) => ['run.completed', 'run.rolled_back', 'run.failed'].includes(e.type))
  expect(terminal.map((e) => e.type)).toEqual([bad ? 'run.rolled_back' : 'run.completed'])
  expect(events.filter((e) => e.type === 'driver.attached').at(-1)!.data.takeover).toBe(true)

  // no step skipped or repeated
  const steps = events.filter((e) => e.type === 'step.started').map((e) => e.data.index)
  if (!bad) expect(steps).toEqual([0, 1, 2])
  else expect(steps).toEqual([...new Set(steps)])

  // the gateway serves what the journal says it serves
  const served = await servedPolicy(world)
  expect(served.revision).toBe(state!.applied!.revision)
  expect(served.mode).toBe('plain')

  // every host on a known version, the one the journal records
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
  }

  // nothing lost: every request through the gateway got an answer
  expect(world.load.stats().errors - errorsBefore, `requests lost after ${c.point}: ${world.load.stats().lastError}`).toBe(0)
}
