// Hosts from an inventory (issue 16, item 5): a 1,000-host inventory command
// read as a run starts, frozen into run.started, then a completion over those
// simulated hosts (each deploy a real 200 ms timer, 50 at once). Figures: the
// read itself, fan-out overhead against the same completion with the hosts
// listed in gray.yaml (the baseline, measured in this run), and the driver's
// peak RSS at 100 and at 1,000 hosts, early and late in the completion.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {systemClock} from '../../src/adapters/clock.js'
import {configFromObject} from '../../src/core/config/load.js'
import type {GrayConfig} from '../../src/core/config/model.js'
import {runStarted} from '../../src/core/run/begin.js'
import {RunDriver} from '../../src/core/run/driver.js'
import {resolveInventory} from '../../src/services/inventory.js'
import {FakeDeployer, MemoryGateway, MemoryJournal, testActor} from '../support/fakes.js'

type Figures = Record<string, unknown>

const CONCURRENCY = 50
const DEPLOY_MS = 200
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`

function yamlOf(stable: unknown): Record<string, unknown> {
  return {
    service: 'bench',
    hosts: {stable, gray: ['10.255.0.1:8080']},
    deploy: {command: ['true'], concurrency: CONCURRENCY, retries: 0, maxUnavailable: '100%'},
    gateway: {type: 'sandbox'},
    steps: [{weight: 100, bake: '0s'}],
  }
}

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`

/** A completion of `cfg`'s hosts; RSS sampled every 10 ms, split at the middle of the deploys. */
async function completion(cfg: GrayConfig): Promise<{deployMs: number; peakEarly: number; peakLate: number; hosts: number}> {
  const journal = new MemoryJournal(systemClock)
  await journal.append('run.started', runStarted(cfg, 'bench', 'v2', 'v1') as unknown as Record<string, unknown>)
  const deployer = new FakeDeployer(systemClock)
  deployer.durationMs = DEPLOY_MS
  const driver = new RunDriver({config: cfg, journal, gateway: new MemoryGateway(), deployer, sources: {}, clock: systemClock, actor: testActor})
  const total = cfg.hosts.stable.length + cfg.hosts.gray.length
  let peakEarly = 0
  let peakLate = 0
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss
    const done = journal.list.filter((e) => e.type === 'host.deploy.succeeded').length
    if (done < total / 2) peakEarly = Math.max(peakEarly, rss)
    else peakLate = Math.max(peakLate, rss)
  }, 10)
  try {
    await driver.drive()
  } finally {
    clearInterval(sampler)
  }
  const events = journal.events()
  const first = events.find((e) => e.type === 'host.deploy.started' && e.data.purpose === 'complete')
  const last = events.filter((e) => e.type === 'host.deploy.succeeded').at(-1)
  if (!first || !last || events.at(-1)?.type !== 'run.completed') throw new Error(`the bench run did not complete: ${events.at(-1)?.type}`)
  return {deployMs: Date.parse(last.at) - Date.parse(first.at), peakEarly, peakLate, hosts: total}
}

export async function benchInventory(): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-inventory-'))
  try {
    const script = path.join(dir, 'inventory.mjs')
    writeFileSync(script, `const n = Number(process.argv[2]); console.log(JSON.stringify(Array.from({length: n}, (_, i) => ({name: 'web-' + (i + 1), address: \`10.\${((i + 1) >> 16) & 255}.\${((i + 1) >> 8) & 255}.\${(i + 1) & 255}:8080\`}))))\n`)
    const fromInventory = async (n: number) => {
      const cfg = configFromObject(yamlOf({command: [process.execPath, script, String(n)]}), path.join(dir, 'gray.yaml'), {})
      const t = performance.now()
      const resolved = await resolveInventory(cfg)
      return {config: resolved.config, readMs: performance.now() - t}
    }
    const listed = (n: number) =>
      configFromObject(yamlOf(Array.from({length: n}, (_, i) => ({name: `web-${i + 1}`, address: address(i + 1)}))), path.join(dir, 'gray.yaml'), {})

    globalThis.gc?.()
    const small = await completion((await fromInventory(99)).config)
    // baseline and inventory interleaved, so a noisy machine slows both alike
    const baseline: number[] = []
    const inventory: number[] = []
    let read = 0
    let large = small
    for (let i = 0; i < 2; i++) {
      baseline.push((await completion(listed(999))).deployMs)
      const r = await fromInventory(999)
      read = r.readMs
      large = await completion(r.config)
      inventory.push(large.deployMs)
    }
    const best = (xs: number[]) => Math.min(...xs)
    const ideal = (1000 / CONCURRENCY) * DEPLOY_MS
    const pct = (x: number, of: number) => `${(((x - of) / of) * 100).toFixed(1)}%`
    return {
      'read a 1,000-host inventory command': `${read.toFixed(0)} ms (process start, JSON, schema, host checks)`,
      [`completion, 1,000 hosts listed in gray.yaml (baseline), ideal ${ideal} ms`]: `${best(baseline).toFixed(0)} ms`,
      'completion, 1,000 hosts from the inventory': `${best(inventory).toFixed(0)} ms`,
      'fan-out overhead, inventory against baseline (target < 10%)': pct(best(inventory), best(baseline)),
      'fan-out overhead, inventory against ideal': pct(best(inventory), ideal),
      'peak RSS, 100-host completion': mb(Math.max(small.peakEarly, small.peakLate)),
      'peak RSS, 1,000-host completion, first half of deploys': mb(large.peakEarly),
      'peak RSS, 1,000-host completion, second half': mb(large.peakLate),
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
