// `npm run bench`: every figure is a ratio against a baseline measured in the
// same run on the same machine (machines here are noisy; absolute times are not).
import {execa} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {runStarted} from '../../src/core/run/begin.js'
import {replay} from '../../src/core/run/state.js'
import {JournalFile} from '../../src/state/journal.js'
import {testActor, testConfig} from '../support/fakes.js'

type Figures = Record<string, unknown>

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`

async function time(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await fn()
    out.push(performance.now() - t)
  }
  return out
}

/**
 * `gray status` start-up against a bare `node -e 0` (issue 12's target: at most 2x), the two
 * interleaved so a noisy machine slows both alike; beside it the unbundled fast path
 * (dist/fast/status.js), which bin/run.js falls back to when there is no bundle.
 */
async function startup(): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-'))
  writeFileSync(path.join(dir, 'gray.yaml'), 'service: bench\nhosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}\ndeploy: {command: ["true"]}\ngateway: {type: sandbox}\n')
  const bin = path.resolve('bin/run.js')
  const unbundled = `const {fastStatus} = await import(${JSON.stringify(path.resolve('dist/fast/status.js'))}); if (await fastStatus(['status'].slice(1))) process.exit(); process.exit(9)`
  const runs = {baseline: [] as number[], status: [] as number[], unbundled: [] as number[]}
  for (let i = 0; i < 22; i++) {
    const [b, s, u] = [
      await time(() => execa(process.execPath, ['-e', '0']), 1),
      await time(() => execa(process.execPath, [bin, 'status'], {cwd: dir}), 1),
      await time(() => execa(process.execPath, ['--input-type=module', '-e', unbundled], {cwd: dir}), 1),
    ]
    if (i < 2) continue // warm the file cache
    runs.baseline.push(...b)
    runs.status.push(...s)
    runs.unbundled.push(...u)
  }
  const [baseline, status, plain] = [median(runs.baseline), median(runs.status), median(runs.unbundled)]
  return {
    'node -e 0 (baseline)': ms(baseline),
    'gray status': ms(status),
    'start-up ratio (target <= 2x)': `${(status / baseline).toFixed(2)}x`,
    'unbundled fast path': `${ms(plain)} (${(plain / baseline).toFixed(2)}x)`,
  }
}

/** One fsynced journal append against a bare append + fsync of the same bytes. */
async function journal(): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-'))
  const n = 300
  const line = `${JSON.stringify({seq: 1, at: new Date().toISOString(), actor: testActor, type: 'gate.measured', data: {check: 'errors', value: 0.001}})}\n`
  const raw = await open(path.join(dir, 'raw.ndjson'), 'a')
  const bare = await time(async () => {
    await raw.write(line)
    await raw.sync()
  }, n)
  await raw.close()
  const file = await JournalFile.open(path.join(dir, 'j.ndjson'), {actor: testActor, create: true})
  const ours = await time(() => file.append('gate.measured', {check: 'errors', value: 0.001}), n)
  await file.close()
  return {'append + fsync (baseline)': ms(median(bare)), 'journal append': ms(median(ours)), 'journal overhead ratio': `${(median(ours) / median(bare)).toFixed(2)}x`}
}

/** Replaying a long run's journal against only parsing its lines. */
async function replayCost(): Promise<Figures> {
  const config = testConfig()
  const events = [{seq: 1, at: new Date().toISOString(), actor: testActor, type: 'run.started', data: runStarted(config, 'bench', 'v2', 'v1') as unknown as Record<string, unknown>}]
  for (let i = 2; i <= 20_000; i++) {
    events.push({seq: i, at: new Date().toISOString(), actor: testActor, type: 'gate.measured', data: {check: 'errors', step: 0, verdict: 'pass', value: 0.001, limit: 0.01, baseline: null, samples: 500, reason: 'ok', evaluatedAt: '', windowMs: 1, raw: {}} as never})
  }
  const text = events.map((e) => JSON.stringify(e)).join('\n')
  const parse = median(await time(async () => text.split('\n').map((l) => JSON.parse(l)), 7))
  const both = median(await time(async () => replay(text.split('\n').map((l) => JSON.parse(l))), 7))
  return {'parse 20,000 events (baseline)': ms(parse), 'parse + replay': ms(both), 'replay overhead ratio': `${(both / parse).toFixed(2)}x`}
}

/** Benches other parts of gray keep next to their tests, when present. */
async function optional(file: string, name: string): Promise<Figures | null> {
  try {
    const mod = (await import(pathToFileURL(path.resolve('test/bench', file)).href)) as Record<string, () => Promise<Figures>>
    return await (mod[name] as () => Promise<Figures>)()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null
    return {error: String(error)}
  }
}

const sections: Array<[string, () => Promise<Figures | null>]> = [
  ['start-up', startup],
  ['journal', journal],
  ['replay', replayCost],
  ['gateways (real nginx and HAProxy)', () => optional('gateways.ts', 'benchGateways')],
  ['time to safety (real Prometheus)', () => optional('time-to-safety.ts', 'benchTimeToSafety')],
  ['deploy fan-out', () => optional('fanout.ts', 'benchFanout')],
  ['hosts from an inventory (1,000 simulated hosts)', () => optional('inventory.ts', 'benchInventory')],
  ['takeover after kill -9', () => optional('takeover.ts', 'benchTakeover')],
  ['judge (seeded simulation)', () => optional('judge.ts', 'benchJudge')],
  ['judge latency (seeded simulation)', () => optional('judge.ts', 'benchJudgeLatency')],
  ['state backends (real PostgreSQL)', () => optional('state.ts', 'benchState')],
  ['agent failover after kill -9 (real PostgreSQL)', () => optional('failover.ts', 'benchFailover')],
  ['gray on PostgreSQL: status start-up, request to action', () => optional('pg-cli.ts', 'benchPostgresCli')],
  ['cohort serve (wrk, one core)', () => optional('cohort.ts', 'benchCohort')],
]

const only = process.argv.slice(2)
for (const [name, fn] of sections) {
  if (only.length && !only.some((o) => name.startsWith(o))) continue
  const figures = await fn()
  if (!figures) continue
  console.log(`\n${name}`)
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(44)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
}
