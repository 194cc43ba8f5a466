// gray on PostgreSQL through bin/run.js, against baselines measured in the same run:
// - `gray status` start-up with its state in PostgreSQL, interleaved with a bare `node -e ''`;
// - request to action through NOTIFY: a request posted for a live CLI driver (`gray start`,
//   baking) until its request.received is journaled, beside the database's own NOTIFY round
//   trip (pg_notify committed → LISTEN told) as the floor. Target: under 200 ms.
import {execa} from 'execa'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import pg from 'pg'

import {PostgresBackend} from '../../src/state/postgres/backend.js'
import {BIN} from '../support/cli.js'
import {startPolicyPlane} from '../support/policy-plane.js'
import {startPostgres, whyNoPostgres} from '../support/postgres.js'

type Figures = Record<string, unknown>

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`
const actor = {user: 'bench', host: 'bench', pid: process.pid, ci: false}

function config(dir: string, plane: string, steps: string): void {
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    [
      'service: bench',
      'state: {backend: postgres, url: "${GRAY_DATABASE_URL}"}',
      'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
      'deploy: {command: ["true"]}',
      `gateway: {type: http, url: "${plane}"}`,
      'traffic: {sticky: "cookie:uid"}',
      `steps: ${steps}`,
      '',
    ].join('\n'),
  )
}

export async function benchPostgresCli(options: {tries?: number} = {}): Promise<Figures | null> {
  const missing = whyNoPostgres()
  if (missing) return {skipped: missing}
  const tries = Math.max(20, options.tries ?? Number(process.env.GRAY_BENCH_NOTIFY_TRIES ?? 24))
  const [server, plane] = await Promise.all([startPostgres({durable: true}), startPolicyPlane()])
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-pg-'))
  const url = await server.createDatabase()
  const env = {CI: '1', NO_COLOR: '1', GRAY_DATABASE_URL: url}
  const out: Figures = {}
  try {
    // a run waiting at its first step, for status to show
    config(dir, plane.url, '[{weight: 10, pause: true}, {weight: 100, bake: 1s}]')
    const waiting = await execa(process.execPath, [BIN, 'start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env, reject: false, stdin: 'ignore'})
    if (waiting.exitCode !== 4) return {error: `gray start ended ${waiting.exitCode}: ${waiting.stderr.slice(-300)}`}
    const runs = {baseline: [] as number[], status: [] as number[]}
    for (let i = 0; i < 22; i++) {
      let t = performance.now()
      await execa(process.execPath, ['-e', ''])
      const b = performance.now() - t
      t = performance.now()
      const r = await execa(process.execPath, [BIN, 'status'], {cwd: dir, env, reject: false})
      const s = performance.now() - t
      if (r.exitCode !== 0) return {error: `gray status ended ${r.exitCode}: ${r.stderr.slice(-300)}`}
      if (i < 2) continue // warm the file cache
      runs.baseline.push(b)
      runs.status.push(s)
    }
    const [b, s] = [pct(runs.baseline, 0.5), pct(runs.status, 0.5)]
    out["node -e '' (baseline)"] = ms(b)
    out['gray status, state in postgres'] = ms(s)
    out['status start-up ratio (postgres)'] = `${(s / b).toFixed(2)}x`

    // the floor: NOTIFY committed → the LISTEN connection told, no gray involved
    const listen = new pg.Client({connectionString: url})
    const talk = new pg.Client({connectionString: url})
    await Promise.all([listen.connect(), talk.connect()])
    await listen.query('LISTEN bench_floor')
    const floor: number[] = []
    for (let i = 0; i < tries; i++) {
      const heard = new Promise<void>((resolve) => listen.once('notification', () => resolve()))
      const t = performance.now()
      await talk.query(`NOTIFY bench_floor, 'x'`)
      await heard
      floor.push(performance.now() - t)
    }
    await Promise.all([listen.end(), talk.end()])

    // a live CLI driver, baking: each promote passes a step, and the next bakes for 10 minutes
    const many = Array.from({length: tries + 1}, (_, i) => `{weight: ${i + 1}, bake: 10m}`).join(', ')
    const live = mkdtempSync(path.join(tmpdir(), 'gray-bench-pg-live-'))
    config(live, plane.url, `[${many}, {weight: 100, bake: 1s}]`)
    const liveDb = await server.createDatabase()
    const driver = execa(process.execPath, [BIN, 'start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live, env: {...env, GRAY_DATABASE_URL: liveDb}, reject: false, stdin: 'ignore'})
    const backend = await PostgresBackend.open(liveDb)
    const latencies: number[] = []
    try {
      const runId = async () => {
        for (;;) {
          const id = await backend.currentRun('bench')
          if (id) return id
          await delay(50)
        }
      }
      const id = await runId()
      let seen = 0
      const events = async () => {
        const e = await backend.readEvents('bench', id, seen + 1)
        seen = e.at(-1)?.seq ?? seen
        return e
      }
      const baking = async (step: number) => {
        for (const end = Date.now() + 60_000; Date.now() < end; await delay(20)) {
          if ((await backend.readEvents('bench', id)).some((e) => e.type === 'gateway.publish.confirmed' && e.data.purpose === 'step' && e.data.step === step)) return
        }
        throw new Error(`step ${step} never baked`)
      }
      // the bench's own LISTEN: told of each event as it commits, it reads only the new ones
      let wake: (() => void) | null = null
      const unsubscribe = await backend.subscribe('bench', () => wake?.())
      for (let i = 0; i < tries; i++) {
        await baking(i)
        await events()
        const t = performance.now()
        const posted = await backend.postRequest('bench', {kind: 'promote', actor})
        for (let found = false; !found; ) {
          const next = new Promise<void>((resolve) => (wake = resolve))
          const got = await events()
          if (got.some((e) => e.type === 'request.received' && e.data.id === posted.id)) {
            latencies.push(performance.now() - t)
            found = true
          } else await Promise.race([next, delay(250)])
        }
      }
      await unsubscribe()
    } finally {
      await backend.close()
      driver.kill('SIGTERM')
      await driver
      rmSync(live, {recursive: true, force: true})
    }
    out['NOTIFY round trip p50 / p99 (floor)'] = `${ms(pct(floor, 0.5))} / ${ms(pct(floor, 0.99))}`
    out['request → request.received p50 / p99'] = `${ms(pct(latencies, 0.5))} / ${ms(pct(latencies, 0.99))} over ${latencies.length} promotes`
    out['ratio to the floor (p50)'] = `${(pct(latencies, 0.5) / pct(floor, 0.5)).toFixed(1)}x`
    out['target: p99 under 200 ms'] = pct(latencies, 0.99) < 200 ? 'met' : 'NOT met'
    return out
  } finally {
    await Promise.all([server.destroy(), plane.close()])
    rmSync(dir, {recursive: true, force: true})
  }
}
