// The conformance suite against the `postgres` backend on a real, private
// PostgreSQL (test/support/postgres.ts), each test in its own database, plus
// what only a database server can do to a writer: go away and come back,
// kill a connection mid-append, and be migrated by many processes at once.
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {openBackend, type Notice, type StateBackend} from '../../../src/state/backend.js'
import {MIGRATIONS} from '../../../src/state/postgres/migrations.js'
import {PostgresBackend, describeUrl} from '../../../src/state/postgres/backend.js'
import {newRunId} from '../../../src/state/store.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../../support/postgres.js'
import {conformance, me, oneTo, seqs, waitFor} from './conformance.js'

describe.skipIf(skipWithoutPostgres)('postgres state backend', () => {
  let server: PostgresServer
  const opened: StateBackend[] = []
  const open = async (url: string, options: Parameters<typeof PostgresBackend.open>[1] = {}) => {
    const backend = await PostgresBackend.open(url, options)
    opened.push(backend)
    return backend
  }

  beforeAll(async () => {
    server = await startPostgres()
  }, 180_000)
  afterAll(async () => {
    await server?.destroy()
  }, 180_000)
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close().catch(() => undefined)))
  })

  conformance('postgres', async () => ({backend: 'postgres', dir: '', url: await server.createDatabase()}))

  it('applies the schema once when many migrators start at the same time', async () => {
    const url = await server.createDatabase()
    const migrators = await Promise.all(oneTo(8).map(() => open(url, {migrate: false}).catch(() => null)))
    // migrate: false refuses a database that is behind, so every one of those failed; now race eight real migrations
    expect(migrators.every((m) => m === null)).toBe(true)
    const backends = await Promise.all(oneTo(8).map(() => PostgresBackend.open(url, {migrate: true})))
    opened.push(...backends)
    const results = await Promise.all(backends.map((b) => b.migrate()))
    expect(results.every((r) => r.applied.length === 0 && r.version === MIGRATIONS.length)).toBe(true)
    const rows = await server.query<{version: number; n: string}>('SELECT version, count(*) AS n FROM gray_schema_migrations GROUP BY version ORDER BY version', [], dbName(url))
    expect(rows.map((r) => [r.version, Number(r.n)])).toEqual(MIGRATIONS.map((m) => [m.version, 1]))
  })

  it('fails appends with a clear error while the server is down, then continues with no gap and notifies again', async () => {
    const url = await server.createDatabase()
    const backend = await open(url, {retryMs: 500, connectTimeoutMs: 2000})
    // a TTL far beyond the outage: this case is about the connection, not the lease
    const lease = await backend.acquireLease('shop', me(), {ttlMs: 600_000})
    const runId = newRunId()
    await backend.createRun('shop', runId, lease, {type: 'run.started', data: {}})
    await backend.append('shop', runId, lease, [{type: 'before', data: {}}])
    const notices: Notice[] = []
    const unsubscribe = await backend.subscribe('shop', (n) => notices.push(n))

    await server.stop()
    try {
      const failure = await backend.append('shop', runId, lease, [{type: 'while.down', data: {}}]).then(
        () => null,
        (error: Error) => error,
      )
      expect(failure?.message).toMatch(/^PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/\w+ is unreachable .*; check the server is up/)
      expect(failure?.message).not.toMatch(/\n/)
    } finally {
      await server.start()
    }

    await waitFor('appends to work again', () => backend.append('shop', runId, lease, [{type: 'after', data: {}}]).then(() => true, () => false))
    const events = await backend.readEvents('shop', runId)
    expect(seqs(events)).toEqual(oneTo(events.length))
    expect(events.map((e) => e.type)).toEqual(['run.started', 'before', 'after'])

    // the LISTEN connection came back by itself: subscribers were told to re-read, and hear new events again
    await waitFor('a resync notice', async () => notices.some((n) => n.kind === 'resync'))
    const resynced = notices.length
    await backend.append('shop', runId, lease, [{type: 'heard', data: {}}])
    await waitFor('an event notice after the restart', async () => notices.slice(resynced).some((n) => n.kind === 'event' && n.seq === 4))
    await unsubscribe()
  })

  it('writes an append whose connection is killed mid-transaction exactly once, with no gap', async () => {
    const url = await server.createDatabase()
    // retries long enough to ride out the storm below; the outage case covers giving up
    const backend = await open(url, {applicationName: 'gray-victim', retryMs: 20_000})
    const lease = await backend.acquireLease('shop', me(), {ttlMs: 600_000})
    const runId = newRunId()
    await backend.createRun('shop', runId, lease, {type: 'run.started', data: {}})

    // hold the lease row so the append stops inside its transaction, then kill its connection there
    const blocker = new (await import('pg')).default.Client({connectionString: url})
    await blocker.connect()
    try {
      await blocker.query('BEGIN')
      await blocker.query('SELECT 1 FROM gray_leases WHERE service = $1 FOR UPDATE', ['shop'])
      const append = backend.append('shop', runId, lease, [{type: 'killed.mid.append', data: {n: 1}}])
      const [victim] = await waitFor('the append to wait on the lease row', async () => {
        const rows = await server.query<{pid: number}>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'gray-victim' AND wait_event_type = 'Lock'`, [], dbName(url))
        return rows.length > 0 ? rows : null
      })
      await server.query('SELECT pg_terminate_backend($1)', [victim!.pid])
      await waitFor('the killed connection to be gone', async () => (await server.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [victim!.pid])).length === 0)
      await blocker.query('COMMIT')
      expect(seqs(await append)).toEqual([2])
    } finally {
      await blocker.end()
    }

    // and under a storm: a busy connection killed every 20 ms while appends run
    const admin = new (await import('pg')).default.Client({connectionString: url})
    await admin.connect()
    let killing = true
    let kills = 0
    const outcomes: Array<{i: number; ok: boolean}> = []
    const killer = (async () => {
      while (killing) {
        const {rows} = await admin.query<{killed: boolean}>(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'gray-victim' AND state <> 'idle' ORDER BY random() LIMIT 1`,
        )
        const killed = rows.filter((r) => r.killed).length
        kills += killed
        // after a kill, let the next append end before killing again: on a loaded machine an attempt takes longer
        // than the killer's period, and killing every attempt would only test that a hopeless storm is hopeless
        const done = outcomes.length
        while (killed > 0 && killing && outcomes.length === done) await new Promise((resolve) => setTimeout(resolve, 5))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    // at least 60 appends, and on until the storm has killed a few connections under them
    for (let i = 0; i < 60 || (kills < 5 && i < 5000); i++) {
      outcomes.push(
        await backend.append('shop', runId, lease, [{type: 'storm', data: {i}}]).then(
          () => ({i, ok: true}),
          () => ({i, ok: false}),
        ),
      )
    }
    killing = false
    await killer
    expect(kills).toBeGreaterThanOrEqual(5)
    await admin.end()
    const events = await backend.readEvents('shop', runId)
    expect(seqs(events)).toEqual(oneTo(events.length))
    const storm = events.filter((e) => e.type === 'storm').map((e) => e.data.i as number)
    expect(new Set(storm).size).toBe(storm.length)
    for (const o of outcomes.filter((x) => x.ok)) expect(storm).toContain(o.i)
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(0)
    console.log(`connection storm: ${kills} connections killed, ${outcomes.filter((o) => o.ok).length}/${outcomes.length} appends succeeded, ${storm.length} written, none twice`)
  }, 300_000)

  it('never shows the password of the state URL in messages', async () => {
    const url = await server.createDatabase()
    const secret = 'pa55-w0rd-XYZ'
    const withPassword = url.replace('gray@', `gray:${secret}@`)
    expect(describeUrl(withPassword)).not.toContain(secret)
    const down = withPassword.replace(/:\d+\//, ':1/')
    const error = await openBackend({backend: 'postgres', dir: '', url: down}).then(
      () => null,
      (e: Error) => e,
    )
    expect(error?.message).toMatch(/unreachable/)
    expect(error?.message).not.toContain(secret)
  })
})

const dbName = (url: string) => new URL(url).pathname.slice(1)
