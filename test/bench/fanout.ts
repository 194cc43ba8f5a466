// Deploy fan-out: how close a completion of 500 hosts at concurrency 50, each
// deploy taking 200 ms, comes to the ideal 500 / 50 × 200 ms; and the driver's
// memory across a 1,000-host completion. Prints nothing: `npm run bench` does.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {systemClock} from '../../src/adapters/clock.js'
import {CommandDeployer} from '../../src/adapters/deploy/command.js'
import type {GrayConfig, Host} from '../../src/core/config/model.js'
import type {Clock, Deployer, DeployRequest, DeployResult, JournalWriter} from '../../src/core/ports.js'
import {runStarted} from '../../src/core/run/begin.js'
import {RunDriver} from '../../src/core/run/driver.js'
import {JournalFile} from '../../src/state/journal.js'
import {FakeClock, FakeDeployer, MemoryGateway, MemoryJournal, testActor, testConfig} from '../support/fakes.js'

type Figures = Record<string, unknown>

const HOSTS = 500
const CONCURRENCY = 50
const DEPLOY_MS = 200


function fleet(stable: number): {gray: Host[]; stable: Host[]} {
  const host = (i: number): Host => ({name: `h${i}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`})
  return {gray: [host(0)], stable: Array.from({length: stable}, (_, i) => host(i + 1))}
}

/** One gray host, `stable` stable hosts, one step at 100% that needs no bake: the run is its completion. */
function config(stable: number): GrayConfig {
  return testConfig({
    hosts: fleet(stable),
    steps: [{weight: 100, bakeMs: 0, pause: false}],
    gates: undefined,
    deploy: {type: 'command', command: ['sleep', '0.2'], concurrency: CONCURRENCY, timeoutMs: 60_000, retries: 0, maxUnavailable: {percent: 100}},
  })
}

/** Drives a run and returns the wall time of its completion's deploys (first start to last confirmation). */
async function completion(cfg: GrayConfig, deployer: Deployer, journal: JournalWriter, clock: Clock, drive: (p: Promise<unknown>) => Promise<unknown> = (p) => p) {
  await journal.append('run.started', runStarted(cfg, 'bench', 'v2', 'v1') as unknown as Record<string, unknown>)
  const driver = new RunDriver({config: cfg, journal, gateway: new MemoryGateway(), deployer, sources: {}, clock, actor: testActor})
  const marks: number[] = []
  const started = performance.now()
  const watch = setInterval(() => undefined, 1000)
  try {
    await drive(driver.drive())
  } finally {
    clearInterval(watch)
  }
  const events = journal.events()
  const complete = events.filter((e) => e.data.purpose === 'complete' && e.type === 'host.deploy.started')
  for (const e of [complete[0], events.filter((e) => e.type === 'host.deploy.succeeded').at(-1)]) marks.push(Date.parse(e?.at ?? ''))
  return {totalMs: performance.now() - started, deployMs: (marks[1] ?? 0) - (marks[0] ?? 0), events: events.length}
}

function fanoutFigures(label: string, measured: {deployMs: number}): Figures {
  const ideal = (HOSTS / CONCURRENCY) * DEPLOY_MS
  const overhead = measured.deployMs - ideal
  return {
    [`${label}: ${HOSTS} hosts, ideal ${ideal} ms`]: `${Math.round(measured.deployMs)} ms`,
    [`${label}: overhead (target < 10%)`]: `${((overhead / ideal) * 100).toFixed(1)}%`,
    [`${label}: overhead per host`]: `${((overhead * CONCURRENCY) / HOSTS).toFixed(2)} ms`,
  }
}

/** A deployer whose every deploy is a real 200 ms timer. */
function timerDeployer(): FakeDeployer {
  const deployer = new FakeDeployer(systemClock)
  deployer.durationMs = DEPLOY_MS
  return deployer
}

async function simulated(): Promise<Figures> {
  const cfg = config(HOSTS)
  const inMemory = await completion(cfg, timerDeployer(), new MemoryJournal(systemClock), systemClock)

  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-fanout-'))
  try {
    const file = await JournalFile.open(path.join(dir, 'run.ndjson'), {actor: testActor, create: true})
    const onDisk = await completion(cfg, timerDeployer(), file, systemClock)
    await file.close()
    return {
      ...fanoutFigures('200 ms timer, journal in memory', inMemory),
      ...fanoutFigures('200 ms timer, fsynced journal (JournalFile, group commit)', onDisk),
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function realProcesses(): Promise<Figures> {
  const cfg = config(HOSTS)
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-fanout-'))
  try {
    const file = await JournalFile.open(path.join(dir, 'run.ndjson'), {actor: testActor, create: true})
    const measured = await completion(cfg, new CommandDeployer(cfg.deploy), file, systemClock)
    await file.close()
    const inMemory = await completion(cfg, new CommandDeployer(cfg.deploy), new MemoryJournal(systemClock), systemClock)
    return {...fanoutFigures('real `sleep 0.2` processes, journal in memory', inMemory), ...fanoutFigures('real `sleep 0.2` processes, fsynced journal (JournalFile)', measured)}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** FakeClock.sleep keeps an abort listener per sleep; a bench of 1,000 deploys would pile them up on one signal. */
class UnsignalledDeployer extends FakeDeployer {
  override deploy(req: DeployRequest): Promise<DeployResult> {
    return super.deploy({...req, signal: undefined})
  }
}

/** Peak RSS across a completion of `hosts` hosts in virtual time, and the driver's CPU per journal event. */
async function memory(stable: number): Promise<{peakMb: number; startMb: number; usPerEvent: number; events: number}> {
  globalThis.gc?.()
  const mb = (n: number) => n / 1024 / 1024
  const startRss = process.memoryUsage().rss
  let peak = startRss
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5)
  const clock = new FakeClock()
  const cfg = config(stable)
  const deployer = new UnsignalledDeployer(clock, [...cfg.hosts.gray, ...cfg.hosts.stable])
  const cpu = process.cpuUsage()
  const result = await completion(cfg, deployer, new MemoryJournal(clock), clock, (p) => clock.run(p))
  const used = process.cpuUsage(cpu)
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  return {peakMb: mb(peak), startMb: mb(startRss), usPerEvent: (used.user + used.system) / result.events, events: result.events}
}

export async function benchFanout(): Promise<Figures> {
  const small = await memory(249)
  const large = await memory(999)
  return {
    ...(await simulated()),
    ...(await realProcesses()),
    'memory: RSS before a 1,000-host completion': `${large.startMb.toFixed(0)} MB`,
    'memory: peak RSS during it (sampled every 5 ms)': `${large.peakMb.toFixed(0)} MB`,
    'driver CPU per journal event, 250 hosts': `${small.usPerEvent.toFixed(0)} µs (${small.events} events)`,
    'driver CPU per journal event, 1,000 hosts': `${large.usPerEvent.toFixed(0)} µs (${large.events} events)`,
  }
}
