// The postgres backend's schema, as an ordered list of migrations. gray applies
// the missing ones under a session advisory lock, each in its own transaction
// with its row in gray_schema_migrations, so many processes on many machines
// may start at once: one applies, the others wait, then find nothing to do.
// Never edit a released migration; add the next one.
import type pg from 'pg'

import {GrayError} from '../../core/errors.js'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, events, leases, requests',
    sql: `
      CREATE TABLE gray_runs (
        run_id     text PRIMARY KEY,
        service    text NOT NULL,
        last_seq   integer NOT NULL CHECK (last_seq >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX gray_runs_service ON gray_runs (service, run_id);

      -- append-only: rows are inserted at last_seq + 1 under the lease row's lock, never updated
      CREATE TABLE gray_events (
        run_id    text NOT NULL REFERENCES gray_runs (run_id),
        seq       integer NOT NULL CHECK (seq >= 1),
        at        text NOT NULL,
        actor     jsonb NOT NULL,
        type      text NOT NULL,
        data      jsonb NOT NULL,
        -- one per append call, so an append retried after a lost reply is found, not written twice
        append_id uuid,
        PRIMARY KEY (run_id, seq)
      );
      CREATE INDEX gray_events_append ON gray_events (run_id, append_id) WHERE append_id IS NOT NULL;

      -- one row per service; epoch only grows, holder_id is NULL when released
      CREATE TABLE gray_leases (
        service      text PRIMARY KEY,
        holder_id    uuid,
        holder       jsonb,
        epoch        bigint NOT NULL DEFAULT 0,
        ttl_ms       integer NOT NULL DEFAULT 0,
        acquired_at  timestamptz,
        heartbeat_at timestamptz,
        expires_at   timestamptz
      );

      CREATE TABLE gray_requests (
        service   text NOT NULL,
        id        text NOT NULL,
        ord       bigserial,
        body      jsonb NOT NULL,
        posted_at timestamptz NOT NULL DEFAULT now(),
        taken_at  timestamptz,
        taken_by  uuid,
        rejected  boolean NOT NULL DEFAULT false,
        PRIMARY KEY (service, id)
      );
      CREATE INDEX gray_requests_pending ON gray_requests (service, ord) WHERE taken_at IS NULL;
    `,
  },
  {
    version: 2,
    name: 'agents',
    sql: `
      -- one row per running gray agent; live while expires_at (the database's clock) is ahead
      CREATE TABLE gray_agents (
        id           uuid PRIMARY KEY,
        holder       jsonb NOT NULL,
        services     text[] NOT NULL,
        ttl_ms       integer NOT NULL CHECK (ttl_ms > 0),
        started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at   timestamptz NOT NULL
      );
      CREATE INDEX gray_agents_services ON gray_agents USING gin (services);
    `,
  },
]

export const SCHEMA_VERSION = (MIGRATIONS.at(-1) as Migration).version

/** 'gray' in ASCII: the advisory lock key all gray migrators share */
const LOCK_KEY = 0x67726179

export interface MigrateResult {
  /** versions this call applied, in order; [] when the schema was up to date */
  applied: number[]
  version: number
}

/** the schema version the database is at; 0 before the first migration */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{present: boolean}>(`SELECT to_regclass('gray_schema_migrations') IS NOT NULL AS present`)
  if (!exists.rows[0]?.present) return 0
  const {rows} = await client.query<{version: number | null}>('SELECT max(version) AS version FROM gray_schema_migrations')
  return Number(rows[0]?.version ?? 0)
}

export async function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const latest = migrations.at(-1)?.version ?? 0
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS gray_schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const {rows} = await client.query<{version: number}>('SELECT version FROM gray_schema_migrations')
    const done = new Set(rows.map((r) => Number(r.version)))
    const newest = Math.max(0, ...done)
    if (newest > latest) {
      throw new GrayError(`the database's gray schema is at version ${newest}, newer than this gray knows (${latest}); upgrade gray on this machine`, {exitCode: 2})
    }

    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      await client.query('BEGIN')
      try {
        await client.query(migration.sql)
        await client.query('INSERT INTO gray_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw error
      }
      applied.push(migration.version)
    }
    return {applied, version: latest}
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined)
  }
}
