// The fault world (./world.ts: sample services, the sandbox gateway, steady
// traffic) with its state in a real PostgreSQL: one server per test file, a
// fresh database per case, so cases of several files run at once.
//
// Who drives is a parameter: a DriverCommand is the command line that drives a
// run (today `gray start`; an agent's cases add another with little code).
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import pg from 'pg'
import {expect, onTestFinished} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {replay, type RunState} from '../../src/core/run/state.js'
import {gray} from '../support/cli.js'
import type {PostgresServer} from '../support/postgres.js'
import {publisherOf, type PublishLog} from './publish-log.js'
import {caseDir, hostVersion, SERVICE, servedPolicy, type World} from './world.js'

export const PG_STATE = {backend: 'postgres', url: '${GRAY_DATABASE_URL}'}
/** the lease TTL of every driver in these cases (GRAY_LOCK_STALE_MS) */
export const TTL_MS = 4000

export interface DriverCommand {
  name: string
  /** the command line (after `gray`) that drives `version`; `first`: the run does not exist yet */
  argv(version: string, first: boolean): string[]
}

export const cliStart: DriverCommand = {
  name: 'gray start',
  argv: (version, first) => (first ? ['start', '--version', version, '--previous-version', 'v1', '--yes'] : ['start', '--version', version, '--yes', '--json']),
}

export interface PgCase {
  url: string
  database: string
  /** two working directories with the same gray.yaml: where the run starts, and another machine's */
  dirs: [string, string]
  env: Record<string, string>
  drive(driver: DriverCommand, version: string, options?: {first?: boolean; cwd?: string; env?: Record<string, string>}): ReturnType<typeof gray>
  events(): Promise<JournalEvent[]>
  state(): Promise<RunState | null>
  until(what: string, test: (s: RunState, events: JournalEvent[]) => boolean, timeoutMs?: number): Promise<RunState>
  lease(): Promise<LeaseRow | null>
  /** waits until nobody holds the service's lease alive (by the database's clock) */
  lapsed(timeoutMs?: number): Promise<void>
  sql<T extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>
}

export interface LeaseRow {
  [key: string]: unknown
  holder_id: string | null
  holder: {pid: number; host: string} | null
  epoch: string
  alive: boolean
  acquired_at: Date | null
  expires_at: Date | null
}

export async function pgCase(world: World, server: PostgresServer, extra: Record<string, unknown> = {}): Promise<PgCase> {
  // the URL's user is a secret gray masks in all it writes: one that is no word of gray's output (not `gray`)
  await server.query(`DO $$ BEGIN CREATE ROLE fault_user LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
  const url = (await server.createDatabase()).replace('postgres://gray@', 'postgres://fault_user@')
  const database = new URL(url).pathname.slice(1)
  const first = caseDir(world, {state: PG_STATE, ...extra})
  const other = mkdtempSync(path.join(tmpdir(), 'gray-fault-other-'))
  writeFileSync(path.join(other, 'gray.yaml'), readFileSync(path.join(first, 'gray.yaml')))
  const env = {GRAY_LOCK_STALE_MS: String(TTL_MS), GRAY_DATABASE_URL: url}
  // one small pool per case for the test's own reads (a connection per poll would load a busy machine)
  const pool = new pg.Pool({connectionString: url, max: 2})
  pool.on('error', () => undefined)
  try {
    onTestFinished(() => pool.end())
  } catch {
    // outside a test (a script): the pool ends with the process
  }
  const sql = async <T extends Record<string, unknown>>(text: string, values: unknown[] = []) => (await pool.query<T>(text, values)).rows
  const events = async (): Promise<JournalEvent[]> => {
    const rows = await sql<{seq: number; at: string; actor: JournalEvent['actor']; type: string; data: Record<string, unknown>}>(
      `SELECT seq, at, actor, type, data FROM gray_events WHERE run_id = (SELECT run_id FROM gray_runs WHERE service = $1 ORDER BY run_id DESC LIMIT 1) ORDER BY seq`,
      [SERVICE],
    ).catch((error: {code?: string}) => {
      // before the first gray process migrated the database
      if (error.code === '42P01') return []
      throw error
    })
    return rows.map((r) => ({seq: r.seq, at: r.at, actor: r.actor, type: r.type, data: r.data}))
  }
  const c: PgCase = {
    url,
    database,
    dirs: [first, other],
    env,
    drive: (driver, version, options = {}) =>
      gray(driver.argv(version, options.first ?? false), {cwd: options.cwd ?? first, env: {...env, ...options.env}, timeoutMs: 150_000}),
    events,
    async state() {
      const e = await events()
      return e.length > 0 ? replay(e) : null
    },
    async until(what, test, timeoutMs = 300_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const e = await events()
        const s = e.length > 0 ? replay(e) : null
        if (s && test(s, e)) return s
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last events: ${e.slice(-5).map((x) => x.type).join(', ')}`)
        await delay(100)
      }
    },
    async lease() {
      const rows = await sql<LeaseRow>(
        'SELECT holder_id, holder, epoch, expires_at > clock_timestamp() AS alive, acquired_at, expires_at FROM gray_leases WHERE service = $1',
        [SERVICE],
      ).catch(() => [])
      return rows[0] ?? null
    },
    async lapsed(timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const row = await c.lease()
        if (!row || !row.holder_id || !row.alive) return
        if (Date.now() > end) throw new Error('the lease never lapsed')
        await delay(50)
      }
    },
    sql,
  }
  return c
}

/** Hosts whose deploy of `version` had started and not ended in `events`: only these may be deployed again. */
export function inFlight(events: JournalEvent[], version: string): Set<string> {
  const open = new Set<string>()
  for (const e of events) {
    if (e.data.version !== version) continue
    if (e.type === 'host.deploy.started') open.add(String(e.data.host))
    if (e.type === 'host.deploy.succeeded' || e.type === 'host.deploy.failed') open.delete(String(e.data.host))
  }
  return open
}

/** seq 1…n with no gap and no duplicate */
export function gapFree(events: JournalEvent[]): boolean {
  return events.every((e, i) => e.seq === i + 1)
}

/**
 * The end state a cut or crashed run of v2 must reach once a driver finished it: journal gap-free, the
 * gateway on the journal's revision, every host on v2, none deployed twice but one in flight at
 * `flyingAt`, and every publish `gateway` got one the journal announced first.
 */
export async function expectCompletedRun(world: World, pc: PgCase, gateway: PublishLog, flyingAt: JournalEvent[] = []) {
  const events = await pc.events()
  const state = await pc.state()
  expect(gapFree(events), `seqs ${events.map((e) => e.seq).join(',')}`).toBe(true)
  expect(state!.status).toBe('completed')
  expect(events.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0, 1, 2])
  expect((await servedPolicy(world)).revision).toBe(state!.applied!.revision)
  const flying = inFlight(flyingAt, 'v2')
  for (const h of world.hosts) {
    expect(await hostVersion(h)).toBe('v2')
    const starts = events.filter((e) => e.type === 'host.deploy.started' && e.data.host === h.address && e.data.version === 'v2').length
    expect(starts, `${h.name} deploys`).toBeLessThanOrEqual(flying.has(h.address) ? 2 : 1)
  }
  // every publish the gateway got is one the journal announced first
  for (const p of gateway.publishes) expect(publisherOf(events, p.revision), `publish of ${p.revision}`).toBeDefined()
  return {events, state: state!}
}
