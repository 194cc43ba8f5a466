// State backends: one fenced append's latency and many appends' throughput,
// postgres against local (the journal directory, fsync per group commit), in
// the same run on the same machine. PostgreSQL runs with fsync and synchronous
// commit on, like a production server, so both sides pay for durability.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {Lease, StateBackend} from '../../src/state/backend.js'
import {LocalBackend} from '../../src/state/local.js'
import {PostgresBackend} from '../../src/state/postgres/backend.js'
import {newRunId} from '../../src/state/store.js'
import {startPostgres, whyNoPostgres} from '../support/postgres.js'

const holder = {user: 'bench', host: 'bench', pid: process.pid, ci: false, kind: 'cli' as const}
const data = {check: 'errors', step: 2, verdict: 'pass', value: 0.001, limit: 0.01, samples: 500}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`

interface Figures {
  p50: number
  p95: number
  p99: number
  /** events per second with `inFlight` appends at once */
  throughput: number
}

async function measure(backend: StateBackend, n: number, inFlight: number): Promise<Figures> {
  const lease: Lease = await backend.acquireLease('bench', holder, {ttlMs: 60_000})
  try {
    const runId = newRunId()
    await backend.createRun('bench', runId, lease, {type: 'run.started', data: {}})
    for (let i = 0; i < 20; i++) await backend.append('bench', runId, lease, [{type: 'warm', data}])
    const latencies: number[] = []
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      await backend.append('bench', runId, lease, [{type: 'gate.measured', data}])
      latencies.push(performance.now() - t)
    }
    const total = n * 2
    let next = 0
    const t = performance.now()
    await Promise.all(
      Array.from({length: inFlight}, async () => {
        while (next++ < total) await backend.append('bench', runId, lease, [{type: 'gate.measured', data}])
      }),
    )
    const throughput = total / ((performance.now() - t) / 1000)
    return {p50: pct(latencies, 0.5), p95: pct(latencies, 0.95), p99: pct(latencies, 0.99), throughput}
  } finally {
    await lease.release()
  }
}

export async function benchState(): Promise<Record<string, unknown> | null> {
  const missing = whyNoPostgres()
  if (missing) return {skipped: missing}
  const n = Number(process.env.GRAY_BENCH_STATE_N ?? 300)
  const inFlight = 8
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-state-'))
  const server = await startPostgres({durable: true})
  try {
    const local = new LocalBackend(path.join(dir, '.gray'))
    const pg = await PostgresBackend.open(await server.createDatabase())
    try {
      const l = await measure(local, n, inFlight)
      const p = await measure(pg, n, inFlight)
      return {
        'local append p50 / p95 / p99 (baseline)': `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)}`,
        'postgres append p50 / p95 / p99': `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`,
        'append latency ratio p50 (postgres/local)': `${(p.p50 / l.p50).toFixed(2)}x`,
        'append latency ratio p99 (postgres/local)': `${(p.p99 / l.p99).toFixed(2)}x`,
        [`local throughput, ${inFlight} in flight (baseline)`]: `${l.throughput.toFixed(0)} events/s`,
        [`postgres throughput, ${inFlight} in flight`]: `${p.throughput.toFixed(0)} events/s`,
        'throughput ratio (postgres/local)': `${(p.throughput / l.throughput).toFixed(2)}x`,
        samples: `${n} sequential appends, then ${n * 2} with ${inFlight} in flight, each backend`,
      }
    } finally {
      await local.close()
      await pg.close()
    }
  } finally {
    await server.destroy()
    rmSync(dir, {recursive: true, force: true})
  }
}
