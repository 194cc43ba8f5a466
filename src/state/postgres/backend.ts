// The `postgres` state backend (PostgreSQL 13+, through node-postgres). Every
// write is one transaction that first locks the service's lease row and checks
// the writer's holder id and epoch (fencing), then inserts at last_seq + 1, so
// seq stays gap-free and a deposed writer writes nothing. Time for leases is
// the database's clock, never a client's. Wake-ups ride LISTEN/NOTIFY on one
// channel per service. Schema: ./migrations.ts.
import {createHash, randomUUID} from 'node:crypto'
import {performance} from 'node:perf_hooks'
import createDebug from 'debug'
import pg from 'pg'

import type {ControlRequest, JournalEvent} from '../../core/ports.js'
import {ConfigError, GrayError, LockedError, errorMessage} from '../../core/errors.js'
import type {AgentAnnouncement, AgentPresence, AppendOptions, ImportOutcome, Lease, LeaseHolder, LeaseOptions, LeaseState, NewEvent, NewRequest, Notice, StateBackend} from '../backend.js'
import {completeRequest, whyInvalid} from '../inbox.js'
import {actorOf, sameRun} from '../events.js'
import {describeUrl} from './url.js'
import {migrate, schemaVersion, SCHEMA_VERSION, type MigrateResult} from './migrations.js'

export {describeUrl} from './url.js'

const debug = createDebug('gray:state:postgres')

export interface PostgresOptions {
  /** apply missing migrations on open (under the advisory lock); false: fail when the schema is behind */
  migrate?: boolean
  /** open without looking at the schema at all (for `gray state migrate`, which then migrates) */
  skipSchemaCheck?: boolean
  /** bound on opening a connection */
  connectTimeoutMs?: number
  /** bound on every statement, server side and client side */
  queryTimeoutMs?: number
  /** how long an append keeps retrying a lost connection before it fails */
  retryMs?: number
  /** for pg_stat_activity */
  applicationName?: string
}

type Settings = Required<Omit<PostgresOptions, 'migrate' | 'skipSchemaCheck'>>

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const IMPORT_CHUNK = 500
const MAX_BACKOFF_MS = 500

export class PostgresBackend implements StateBackend {
  readonly kind = 'postgres' as const
  private listener: Listener | null = null
  private closed = false
  private readonly queues = new Map<string, AppendQueue>()

  private constructor(
    private readonly pool: pg.Pool,
    readonly where: string,
    private readonly options: Settings,
    private readonly url: string,
  ) {}

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresBackend> {
    const where = describeUrl(url)
    const settings = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      queryTimeoutMs: options.queryTimeoutMs ?? 10_000,
      retryMs: options.retryMs ?? 3000,
      applicationName: options.applicationName ?? 'gray',
    }
    const pool = new pg.Pool({...connectionConfig(url, settings), max: 4})
    // an idle connection the server dropped: the pool replaces it, nothing to do here
    pool.on('error', (error) => debug('idle connection lost: %s', error.message))
    const backend = new PostgresBackend(pool, where, settings, url)
    if (options.skipSchemaCheck) return backend
    try {
      const client = await backend.connect()
      try {
        const version = await schemaVersion(client)
        if (version !== SCHEMA_VERSION) {
          if (options.migrate === false || version > SCHEMA_VERSION) {
            throw new GrayError(
              version > SCHEMA_VERSION
                ? `the database's gray schema (version ${version}) is newer than this gray knows (${SCHEMA_VERSION}); upgrade gray on this machine`
                : `the database's gray schema is at version ${version}, this gray needs ${SCHEMA_VERSION}; run \`gray state migrate\``,
              {exitCode: 2},
            )
          }
          await migrate(client)
        }
      } finally {
        client.release()
      }
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw backend.wrap(error, 'open the state database')
    }
    return backend
  }

  /** applies the missing migrations; safe from many processes at once */
  async migrate(): Promise<MigrateResult> {
    const client = await this.connect()
    try {
      return await migrate(client)
    } catch (error) {
      throw this.wrap(error, 'migrate the schema')
    } finally {
      client.release()
    }
  }

  async createRun(service: string, runId: string, lease: Lease, first: NewEvent): Promise<JournalEvent> {
    const [event] = await this.write(service, runId, lease, [first], {create: true})
    return event as JournalEvent
  }

  /**
   * Appends arriving while an append of the same run is in flight go together in
   * the next transaction (group commit): each still resolves with only its own
   * events, in call order, and a batch is written whole or not at all.
   */
  append(service: string, runId: string, lease: Lease, events: NewEvent[], options: AppendOptions = {}): Promise<JournalEvent[]> {
    if (events.length === 0) return Promise.resolve([])
    const key = `${service}\0${runId}`
    let queue = this.queues.get(key)
    if (!queue) this.queues.set(key, (queue = {pending: [], busy: false}))
    const q = queue
    return new Promise<JournalEvent[]>((resolve, reject) => {
      q.pending.push({lease, events, expectSeq: options.expectSeq, resolve, reject})
      if (!q.busy) void this.drain(service, runId, key, q)
    })
  }

  private async drain(service: string, runId: string, key: string, queue: AppendQueue): Promise<void> {
    queue.busy = true
    try {
      while (queue.pending.length > 0) {
        // one batch: calls under the same lease; a call that expects a seq goes alone, as it asked
        const first = queue.pending[0] as QueuedAppend
        let size = 1
        if (first.expectSeq === undefined) {
          while (size < queue.pending.length && queue.pending[size]?.lease === first.lease && queue.pending[size]?.expectSeq === undefined) size++
        }
        const batch = queue.pending.splice(0, size)
        try {
          const written = await this.write(service, runId, first.lease, batch.flatMap((b) => b.events), {create: false, expectSeq: first.expectSeq})
          let at = 0
          for (const b of batch) {
            b.resolve(written.slice(at, at + b.events.length))
            at += b.events.length
          }
        } catch (error) {
          for (const b of batch) b.reject(error)
        }
      }
    } finally {
      queue.busy = false
      if (queue.pending.length === 0 && this.queues.get(key) === queue) this.queues.delete(key)
    }
  }

  async readEvents(service: string, runId: string, fromSeq = 1): Promise<JournalEvent[]> {
    checkName(runId, 'run id')
    return this.query('read the journal', async (client) => {
      const run = await client.query('SELECT 1 FROM gray_runs WHERE run_id = $1 AND service = $2', [runId, service])
      if (run.rowCount === 0) throw new GrayError(`no run ${runId} of ${service} in ${this.where}; check the run id with \`gray status\``)
      const {rows} = await client.query<EventRow>('SELECT seq, at, actor, type, data FROM gray_events WHERE run_id = $1 AND seq >= $2 ORDER BY seq', [runId, fromSeq])
      return rows.map(toEvent)
    })
  }

  listRuns(service: string): Promise<string[]> {
    return this.query('list runs', async (client) => {
      const {rows} = await client.query<{run_id: string}>('SELECT run_id FROM gray_runs WHERE service = $1 ORDER BY run_id', [service])
      return rows.map((r) => r.run_id)
    })
  }

  currentRun(service: string): Promise<string | null> {
    return this.query('find the current run', async (client) => {
      const {rows} = await client.query<{run_id: string}>('SELECT run_id FROM gray_runs WHERE service = $1 ORDER BY run_id DESC LIMIT 1', [service])
      return rows[0]?.run_id ?? null
    })
  }

  importRun(service: string, runId: string, events: JournalEvent[]): Promise<ImportOutcome> {
    checkName(runId, 'run id')
    return this.transaction('import a run', async (client) => {
      const last = events.at(-1)?.seq ?? 0
      const inserted = await client.query('INSERT INTO gray_runs (run_id, service, last_seq) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO NOTHING', [runId, service, last])
      if (inserted.rowCount === 0) {
        const {rows} = await client.query<EventRow>('SELECT seq, at, actor, type, data FROM gray_events WHERE run_id = $1 ORDER BY seq', [runId])
        return sameRun(rows.map(toEvent), events, runId)
      }
      for (let i = 0; i < events.length; i += IMPORT_CHUNK) await insertEvents(client, runId, events.slice(i, i + IMPORT_CHUNK), null)
      await notify(client, {kind: 'event', service, runId, seq: last})
      return 'imported'
    })
  }

  async acquireLease(service: string, holder: LeaseHolder, options: LeaseOptions): Promise<Lease> {
    checkName(service, 'service name')
    const deadline = performance.now() + (options.waitMs ?? 0)
    for (;;) {
      const started = performance.now()
      const outcome = await this.transaction('take the lease', async (client) => {
        await client.query('INSERT INTO gray_leases (service) VALUES ($1) ON CONFLICT (service) DO NOTHING', [service])
        const {rows} = await client.query<LeaseRow>(
          `SELECT holder_id, holder, epoch, heartbeat_at, expires_at > clock_timestamp() AS alive,
                  greatest(0, extract(epoch FROM expires_at - clock_timestamp()) * 1000) AS left_ms
             FROM gray_leases WHERE service = $1 FOR UPDATE`,
          [service],
        )
        const row = rows[0] as LeaseRow
        if (row.holder_id && row.alive) return {taken: false as const, row}
        const id = randomUUID()
        const updated = await client.query<{epoch: string}>(
          `UPDATE gray_leases SET holder_id = $2, holder = $3, epoch = epoch + 1, ttl_ms = $4::integer, acquired_at = clock_timestamp(),
                  heartbeat_at = clock_timestamp(), expires_at = clock_timestamp() + $4::integer * interval '1 millisecond'
            WHERE service = $1 RETURNING epoch`,
          [service, id, JSON.stringify(holder), options.ttlMs],
        )
        const previous = row.holder_id && row.holder ? {...(row.holder as LeaseHolder), epoch: Number(row.epoch)} : undefined
        return {taken: true as const, id, epoch: Number(updated.rows[0]?.epoch), previous}
      })
      if (outcome.taken) {
        return new PostgresLease(this, service, outcome.id, outcome.epoch, holder, options.ttlMs, started, outcome.previous)
      }
      const left = deadline - performance.now()
      if (left <= 0) throw lockedBy(service, outcome.row)
      await sleep(Math.min(left, Math.max(20, Number(outcome.row.left_ms ?? 0) + 20), 250))
    }
  }

  readLease(service: string): Promise<LeaseState | null> {
    return this.query('read the lease', async (client) => {
      const {rows} = await client.query<LeaseRow>(
        'SELECT holder_id, holder, epoch, heartbeat_at, acquired_at, expires_at > clock_timestamp() AS alive FROM gray_leases WHERE service = $1 AND holder_id IS NOT NULL',
        [service],
      )
      const row = rows[0]
      if (!row) return null
      return {
        holder: row.holder as LeaseHolder,
        epoch: Number(row.epoch),
        alive: Boolean(row.alive),
        ...(row.heartbeat_at ? {heartbeatAt: new Date(row.heartbeat_at).toISOString()} : {}),
        ...(row.acquired_at ? {since: new Date(row.acquired_at).toISOString()} : {}),
      }
    })
  }

  /** heartbeat: extends the lease only while this holder still has it and it has not lapsed */
  async renewLease(lease: PostgresLease): Promise<boolean> {
    return this.query('renew the lease', async (client) => {
      const {rowCount} = await client.query(
        `UPDATE gray_leases SET heartbeat_at = clock_timestamp(), expires_at = clock_timestamp() + ttl_ms * interval '1 millisecond'
          WHERE service = $1 AND holder_id = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
        [lease.service, lease.id, lease.epoch],
      )
      return rowCount === 1
    })
  }

  async releaseLease(lease: PostgresLease): Promise<void> {
    await this.query('release the lease', (client) =>
      client.query('UPDATE gray_leases SET holder_id = NULL, expires_at = clock_timestamp() WHERE service = $1 AND holder_id = $2 AND epoch = $3', [lease.service, lease.id, lease.epoch]),
    )
  }

  async postRequest(service: string, request: NewRequest): Promise<ControlRequest> {
    checkName(service, 'service name')
    const posted = completeRequest(request)
    await this.transaction('post the request', async (client) => {
      const {rowCount} = await client.query('INSERT INTO gray_requests (service, id, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [service, posted.id, JSON.stringify(posted)])
      if (rowCount === 0) throw new ConfigError(`a request with id ${posted.id} was already posted for ${service}; post it again without --id`)
      await notify(client, {kind: 'request', service})
    })
    return posted
  }

  peekRequests(service: string): Promise<ControlRequest[]> {
    return this.transaction('read the requests', async (client) => {
      const {rows} = await client.query<{id: string; body: unknown}>('SELECT id, body FROM gray_requests WHERE service = $1 AND taken_at IS NULL ORDER BY ord', [service])
      const bad = rows.filter((r) => whyInvalid(r.body) !== null).map((r) => r.id)
      if (bad.length > 0) {
        debug('rejecting malformed requests %o', bad)
        await client.query('UPDATE gray_requests SET rejected = true, taken_at = clock_timestamp() WHERE service = $1 AND id = ANY($2)', [service, bad])
      }
      return rows
        .filter((r) => !bad.includes(r.id))
        .map((r) => r.body as ControlRequest)
        .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id.localeCompare(b.id))
    })
  }

  async ackRequests(service: string, requests: readonly ControlRequest[]): Promise<void> {
    if (requests.length === 0) return
    await this.query('mark the requests taken', (client) =>
      client.query('UPDATE gray_requests SET taken_at = clock_timestamp() WHERE service = $1 AND id = ANY($2) AND taken_at IS NULL', [service, requests.map((r) => r.id)]),
    )
  }

  requestWaiting(service: string, request: ControlRequest): Promise<boolean> {
    return this.query('read the requests', async (client) => {
      const {rowCount} = await client.query('SELECT 1 FROM gray_requests WHERE service = $1 AND id = $2 AND taken_at IS NULL', [service, request.id])
      return rowCount === 1
    })
  }

  async announceAgent(holder: LeaseHolder, services: string[], ttlMs: number): Promise<AgentAnnouncement> {
    for (const service of services) checkName(service, 'service name')
    const id = randomUUID()
    await this.query('announce the agent', async (client) => {
      // agents gone for a day are forgotten; a live one is never touched
      await client.query("DELETE FROM gray_agents WHERE expires_at < clock_timestamp() - interval '1 day'")
      await client.query(
        `INSERT INTO gray_agents (id, holder, services, ttl_ms, expires_at) VALUES ($1, $2, $3, $4::integer, clock_timestamp() + $4::integer * interval '1 millisecond')`,
        [id, JSON.stringify(holder), services, ttlMs],
      )
    })
    let stopped = false
    const beat = async () => {
      if (stopped) return
      await this.query('heartbeat the agent', (client) =>
        client.query(`UPDATE gray_agents SET heartbeat_at = clock_timestamp(), expires_at = clock_timestamp() + ttl_ms * interval '1 millisecond' WHERE id = $1`, [id]),
      )
    }
    const timer = setInterval(() => void beat().catch((error) => debug('agent heartbeat failed: %s', errorMessage(error))), Math.max(100, Math.floor(ttlMs / 3)))
    timer.unref()
    return {
      id,
      beat,
      stop: async () => {
        stopped = true
        clearInterval(timer)
        await this.query('remove the agent', (client) => client.query('DELETE FROM gray_agents WHERE id = $1', [id])).catch((error) => debug('agent removal failed: %s', errorMessage(error)))
      },
    }
  }

  liveAgents(service: string): Promise<AgentPresence[]> {
    return this.query('read the agents', async (client) => {
      const {rows} = await client.query<{id: string; holder: LeaseHolder; services: string[]; started_at: Date; heartbeat_at: Date}>(
        'SELECT id, holder, services, started_at, heartbeat_at FROM gray_agents WHERE $1 = ANY(services) AND expires_at > clock_timestamp() ORDER BY started_at, id',
        [service],
      )
      return rows.map((r) => ({id: r.id, holder: r.holder, services: r.services, since: new Date(r.started_at).toISOString(), heartbeatAt: new Date(r.heartbeat_at).toISOString()}))
    })
  }

  async subscribe(service: string, listener: (notice: Notice) => void): Promise<() => Promise<void>> {
    this.listener ??= new Listener(this.url, this.options, this.where)
    return this.listener.add(service, listener)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.listener?.close()
    await this.pool.end()
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private async write(service: string, runId: string, lease: Lease, events: NewEvent[], how: {create: boolean; expectSeq?: number | undefined}): Promise<JournalEvent[]> {
    checkName(runId, 'run id')
    if (!(lease instanceof PostgresLease) || lease.backendIs(this) === false) {
      throw new GrayError('a lease from another state backend was handed to the postgres backend; this is a bug in gray, please report it')
    }
    lease.assertHeld()
    const appendId = randomUUID()
    const at = new Date().toISOString()
    const actor = actorOf(lease.holder)
    const deadline = performance.now() + this.options.retryMs
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction('append to the journal', async (client) => {
          await checkLease(client, lease)
          // an earlier attempt whose reply was lost may have committed: find it rather than write it twice
          const again = await client.query<EventRow>('SELECT seq, at, actor, type, data FROM gray_events WHERE run_id = $1 AND append_id = $2 ORDER BY seq', [runId, appendId])
          if (again.rows.length > 0) return again.rows.map(toEvent)

          let next: number
          if (how.create) {
            const created = await client.query('INSERT INTO gray_runs (run_id, service, last_seq) VALUES ($1, $2, 1) ON CONFLICT (run_id) DO NOTHING', [runId, service])
            if (created.rowCount === 0) throw new GrayError(`run ${runId} already exists in ${this.where}; this is a bug in gray, please report it`)
            next = 1
          } else {
            const run = await client.query<{service: string; last_seq: number}>('SELECT service, last_seq FROM gray_runs WHERE run_id = $1 FOR UPDATE', [runId])
            const row = run.rows[0]
            if (!row || row.service !== service) throw new GrayError(`no run ${runId} of ${service} in ${this.where}; check the run id with \`gray status\``)
            next = row.last_seq + 1
            if (how.expectSeq !== undefined && how.expectSeq !== next) {
              throw new LockedError(`run ${runId} of ${service} is at seq ${next - 1}, not ${how.expectSeq - 1}: another writer moved it on; nothing was written`)
            }
          }

          const written = events.map((e, i): JournalEvent => ({seq: next + i, at, actor, type: e.type, data: e.data}))
          await insertEvents(client, runId, written, appendId)
          const last = (written.at(-1) as JournalEvent).seq
          if (!how.create) await client.query('UPDATE gray_runs SET last_seq = $2, updated_at = now() WHERE run_id = $1', [runId, last])
          await notify(client, {kind: 'event', service, runId, seq: last})
          return written
        })
      } catch (error) {
        if (!isConnectionError(error) || performance.now() >= deadline) throw error
        debug('append attempt %d lost its connection, retrying: %s', attempt, errorMessage(error))
        await sleep(Math.min(MAX_BACKOFF_MS, 50 * 2 ** attempt))
        lease.assertHeld()
      }
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (error) {
      throw this.wrap(error, 'connect')
    }
    // a connection lost between two statements: the next statement fails and says so; the event alone must not crash gray
    const lost = (error: Error) => debug('connection lost while in use: %s', error.message)
    client.on('error', lost)
    const release = client.release.bind(client)
    client.release = (destroy?: boolean | Error) => {
      client.off('error', lost)
      client.release = release
      return release(destroy)
    }
    return client
  }

  private async query<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    let broken: Error | undefined
    try {
      return await fn(client)
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error
      throw this.wrap(error, what)
    } finally {
      client.release(broken)
    }
  }

  private transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.query(what, async (client) => {
      await client.query('BEGIN')
      try {
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        if (!isConnectionError(error)) await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  /** our own errors pass; a driver error becomes one sentence naming the database (never its password) */
  wrap(error: unknown, what: string): Error {
    if (error instanceof GrayError) return error
    const reason = errorMessage(error) || ((error as {code?: string}).code ?? 'unknown error')
    if (isConnectionError(error)) {
      return new StateUnreachableError(`PostgreSQL at ${this.where} is unreachable (${reason}), so gray could not ${what}; check the server is up and the state URL (GRAY_DATABASE_URL), then retry`, error)
    }
    return new GrayError(`PostgreSQL at ${this.where} refused to ${what}: ${reason}`, {cause: error})
  }
}

/** the state database cannot be reached: a retry may help */
export class StateUnreachableError extends GrayError {
  constructor(message: string, cause: unknown) {
    super(message, {cause})
    this.name = 'StateUnreachableError'
  }
}

class PostgresLease implements Lease {
  private readonly listeners = new Set<(error: Error) => void>()
  private lost: LockedError | null = null
  private released = false
  /** performance.now() until which this process can prove it holds the lease: the last renew's start + TTL */
  private provenUntil: number
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly backend: PostgresBackend,
    readonly service: string,
    readonly id: string,
    readonly epoch: number,
    readonly holder: LeaseHolder,
    readonly ttlMs: number,
    startedAt: number,
    readonly takenOverFrom?: LeaseHolder & {epoch: number},
  ) {
    this.provenUntil = startedAt + ttlMs
    this.timer = setInterval(() => void this.renew().catch((error) => debug('heartbeat failed: %s', errorMessage(error))), Math.max(100, Math.floor(ttlMs / 3)))
    this.timer.unref()
  }

  backendIs(backend: PostgresBackend): boolean {
    return this.backend === backend
  }

  async renew(): Promise<void> {
    this.assertHeld()
    const started = performance.now()
    const ok = await this.backend.renewLease(this)
    if (!ok) {
      this.lose('another process took it over, or it lapsed')
      this.assertHeld()
    }
    this.provenUntil = Math.max(this.provenUntil, started + this.ttlMs)
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    clearInterval(this.timer)
    if (!this.lost) await this.backend.releaseLease(this).catch((error) => debug('release failed: %s', errorMessage(error)))
  }

  assertHeld(): void {
    if (this.released) throw this.lostError('this process already released it')
    if (this.lost) throw this.lost
    if (performance.now() > this.provenUntil) {
      this.lose(`no heartbeat reached the database for ${this.ttlMs} ms`)
      throw this.lost as unknown as LockedError
    }
  }

  onLost(listener: (error: Error) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  lose(reason: string): void {
    if (this.lost || this.released) return
    this.lost = this.lostError(reason)
    clearInterval(this.timer)
    for (const listener of this.listeners) listener(this.lost)
  }

  private lostError(reason: string): LockedError {
    return new LockedError(`${this.service} is no longer driven by this process (${reason}); nothing more was written, see \`gray status\``)
  }
}

/** fencing: inside the append's transaction, the lease row must still name this holder and epoch, unexpired */
async function checkLease(client: pg.ClientBase, lease: PostgresLease): Promise<void> {
  const {rows} = await client.query<LeaseRow>(
    'SELECT holder_id, holder, epoch, expires_at > clock_timestamp() AS alive FROM gray_leases WHERE service = $1 FOR UPDATE',
    [lease.service],
  )
  const row = rows[0]
  let reason: string | null = null
  if (!row || row.holder_id === null) reason = 'its lease was released'
  else if (row.holder_id !== lease.id || Number(row.epoch) !== lease.epoch) reason = `another process holds it now (epoch ${row.epoch})`
  else if (!row.alive) reason = 'its lease lapsed before this write'
  if (reason) {
    lease.lose(reason)
    lease.assertHeld()
  }
}

async function insertEvents(client: pg.ClientBase, runId: string, events: readonly JournalEvent[], appendId: string | null): Promise<void> {
  const values: unknown[] = []
  const rows = events.map((e) => {
    values.push(runId, e.seq, e.at, JSON.stringify(e.actor), e.type, JSON.stringify(e.data), appendId)
    const n = values.length
    return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`
  })
  await client.query(`INSERT INTO gray_events (run_id, seq, at, actor, type, data, append_id) VALUES ${rows.join(', ')}`, values)
}

/** delivered on commit, to every LISTENer of the service's channel */
async function notify(client: pg.ClientBase, notice: Notice): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [channelOf(notice.service), JSON.stringify(notice)])
}

/** a short channel name per service (identifiers stop at 63 bytes; a service name may be 63 itself) */
export function channelOf(service: string): string {
  return `gray_${createHash('sha256').update(service).digest('hex').slice(0, 32)}`
}

/** One LISTEN connection per backend, reconnected when lost (subscribers are then told to re-read). */
class Listener {
  private client: pg.Client | null = null
  private readonly subscribers = new Map<string, Set<(notice: Notice) => void>>()
  private connecting: Promise<void> | null = null
  private closed = false
  private retry: NodeJS.Timeout | null = null

  constructor(
    private readonly url: string,
    private readonly options: Settings,
    private readonly where: string,
  ) {}

  async add(service: string, listener: (notice: Notice) => void): Promise<() => Promise<void>> {
    let set = this.subscribers.get(service)
    const fresh = !set
    if (!set) this.subscribers.set(service, (set = new Set()))
    set.add(listener)
    try {
      if (!this.client) await this.connect()
      // again after a connect: one already under way may have listed its channels before this one came (LISTEN twice is harmless)
      if (fresh) await this.client?.query(`LISTEN ${channelOf(service)}`)
    } catch (error) {
      set.delete(listener)
      throw error
    }
    return async () => {
      const current = this.subscribers.get(service)
      current?.delete(listener)
      if (current && current.size === 0) {
        this.subscribers.delete(service)
        await this.client?.query(`UNLISTEN ${channelOf(service)}`).catch(() => undefined)
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    const client = this.client
    this.client = null
    await client?.end().catch(() => undefined)
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  private async open(): Promise<void> {
    const client = new pg.Client(connectionConfig(this.url, {...this.options, applicationName: `${this.options.applicationName}-listen`}))
    client.on('notification', (message) => this.deliver(message.payload))
    client.on('error', (error) => {
      debug('listen connection lost: %s', error.message)
      this.lost(client)
    })
    client.on('end', () => this.lost(client))
    try {
      await client.connect()
      for (const service of this.subscribers.keys()) await client.query(`LISTEN ${channelOf(service)}`)
    } catch (error) {
      await client.end().catch(() => undefined)
      throw new StateUnreachableError(`PostgreSQL at ${this.where} is unreachable (${errorMessage(error)}), so gray cannot listen for changes; check the server and the state URL`, error)
    }
    this.client = client
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return
    this.client = null
    void client.end().catch(() => undefined)
    this.reconnect(100)
  }

  private reconnect(delayMs: number): void {
    if (this.closed || this.retry) return
    this.retry = setTimeout(async () => {
      this.retry = null
      try {
        await this.connect()
        for (const service of this.subscribers.keys()) this.deliver(JSON.stringify({kind: 'resync', service}))
      } catch {
        this.reconnect(Math.min(delayMs * 2, 2000))
      }
    }, delayMs)
    this.retry.unref()
  }

  private deliver(payload: string | undefined): void {
    let notice: Notice
    try {
      notice = JSON.parse(payload ?? '') as Notice
    } catch {
      return
    }
    for (const listener of this.subscribers.get(notice.service) ?? []) {
      try {
        listener(notice)
      } catch (error) {
        debug('subscriber failed: %O', error)
      }
    }
  }
}

interface QueuedAppend {
  lease: Lease
  events: NewEvent[]
  expectSeq: number | undefined
  resolve: (events: JournalEvent[]) => void
  reject: (error: unknown) => void
}

interface AppendQueue {
  pending: QueuedAppend[]
  busy: boolean
}

interface EventRow {
  seq: number
  at: string
  actor: JournalEvent['actor']
  type: string
  data: Record<string, unknown>
}

interface LeaseRow {
  holder_id: string | null
  holder: unknown
  epoch: string
  heartbeat_at?: Date | null
  acquired_at?: Date | null
  alive: boolean | null
  left_ms?: string | number | null
}

const toEvent = (row: EventRow): JournalEvent => ({seq: row.seq, at: row.at, actor: row.actor, type: row.type, data: row.data})

function lockedBy(service: string, row: LeaseRow): LockedError {
  const holder = row.holder as Partial<LeaseHolder> | null
  const who = holder ? `${holder.kind ?? 'cli'} ${holder.user}@${holder.host} (pid ${holder.pid})` : 'another gray process'
  return new LockedError(`${service} is driven by ${who} under lease epoch ${row.epoch}; wait for it, or stop it and retry once its lease lapses`)
}

function connectionConfig(url: string, options: Settings): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    statement_timeout: options.queryTimeoutMs,
    idle_in_transaction_session_timeout: options.queryTimeoutMs,
    application_name: options.applicationName,
    keepAlive: true,
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03'])

/** lost or never made connection (the statement's outcome may be unknown), as against an error the server answered with */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof StateUnreachableError) return true
  const code = (error as {code?: string} | null)?.code
  if (code && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true
  const message = errorMessage(error)
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|ECONNREFUSED|ECONNRESET|terminating connection|Query read timeout/i.test(message)
}

function checkName(name: string, what: string): void {
  if (!SAFE_NAME.test(name)) throw new ConfigError(`${what} "${name}" may only hold letters, digits, ".", "-" and "_", starting with a letter or digit`)
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
