// Time to safety, end to end: real Prometheus (1 s scrape) scraping real
// stable and gray services behind the sandbox gateway, steady load, a run
// baking at 50% with a 1 s gate interval, driven by the real engine. The gray
// version starts failing at a known moment; we time from its first failing
// response to the last request that reached it (after that, none does).
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {PrometheusSource} from '../../src/adapters/metrics/prometheus/index.js'
import {SandboxGateway} from '../../src/adapters/gateways/sandbox/index.js'
import {startSandbox} from '../../src/adapters/gateways/sandbox/server.js'
import {configFromObject} from '../../src/core/config/load.js'
import type {SandboxGatewayConfig} from '../../src/core/config/model.js'
import type {Clock, Deployer, DeployRequest, DeployResult, JournalEvent} from '../../src/core/ports.js'
import {runStarted} from '../../src/core/run/begin.js'
import {RunDriver} from '../../src/core/run/driver.js'
import {startLoad} from '../../src/demo/load.js'
import {MemoryJournal, testActor} from '../support/fakes.js'
import {startCountingService, startPrometheus, type CountingService} from '../support/prometheus.js'

export interface TimeToSafetyOptions {
  /** runs to time; the median is reported */
  tries?: number
  /** requests per second through the gateway */
  rps?: number
  /** share of the gray version's requests that fail once it breaks */
  failShare?: number
  /** progress lines (the bench prints nothing itself) */
  log?: (line: string) => void
}

const SCRAPE_MS = 1000
const INTERVAL_MS = 1000
const FAILURES = 2
const SERVICE = 'bench'
/** a try that has not rolled back by then counts as a miss */
const TRY_LIMIT_MS = 20_000

const realClock: Clock = {
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, {once: true})
    }),
}

/** Hosts already run; a "deploy" only relabels the in-process service with the version (and heals it). */
class RelabelDeployer implements Deployer {
  constructor(private readonly services: Map<string, CountingService>) {}
  async deploy(req: DeployRequest): Promise<DeployResult> {
    const service = this.services.get(req.host.address)
    service?.setVersion(req.version)
    service?.setFailing(false)
    return {outputTail: [`${req.host.name} runs ${req.version}`], durationMs: 0}
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function hostPort(url: string): string {
  return new URL(url).host
}

interface Try {
  try: number
  /** first failing response → last request that reached gray */
  timeToSafetyMs: number
  /** first failing response → the journal's rollback.started */
  detectMs: number
  /** rollback.started → the gateway confirmed weight 0 */
  publishMs: number
  /** gate fails journaled before the rollback */
  fails: number
  /** responses the load generator saw routed to gray after the run ended (must be 0) */
  grayAfter: number
}

export async function benchTimeToSafety(opts: TimeToSafetyOptions = {}): Promise<Record<string, unknown>> {
  const tries = opts.tries ?? 5
  const rps = opts.rps ?? 200
  const failShare = opts.failShare ?? 0.3
  const log = opts.log ?? (() => undefined)
  const started = Date.now()

  const dir = await mkdtemp(join(tmpdir(), 'gray-bench-'))
  const stable = await startCountingService({service: SERVICE, version: 'v1', name: 'stable-1', initCodes: ['200', '500']})
  const gray = await startCountingService({service: SERVICE, version: 'v1', name: 'gray-1', initCodes: ['200', '500']})
  const prometheus = await startPrometheus({targets: [{address: stable.address}, {address: gray.address}], scrapeIntervalMs: SCRAPE_MS})
  const sandbox = await startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0'})
  const load = startLoad({url: sandbox.listenUrl, rps, users: 2000, requestTimeoutMs: 2000})
  const services = new Map([
    [stable.address, stable],
    [gray.address, gray],
  ])
  const results: Try[] = []
  const misses: string[] = []
  try {
    await prometheus.waitFor('count(up == 1)', (v) => v === 2)
    for (let i = 1; i <= tries; i++) {
      try {
        const result = await oneTry(i)
        results.push(result)
        log(`try ${i}: ${result.timeToSafetyMs} ms to safety (detected after ${result.detectMs} ms, weight 0 confirmed ${result.publishMs} ms later)`)
      } catch (error) {
        misses.push(`try ${i}: ${error instanceof Error ? error.message : String(error)}`)
        log(misses.at(-1) as string)
      }
    }
  } finally {
    await load.stop()
    await sandbox.close()
    await prometheus.stop()
    await stable.close()
    await gray.close()
    await rm(dir, {recursive: true, force: true})
  }

  async function oneTry(index: number): Promise<Try> {
    const version = `v2-${index}`
    gray.setFailing(false)
    gray.setVersion('v1')
    const gatewayConfig: SandboxGatewayConfig = {type: 'sandbox', listen: hostPort(sandbox.listenUrl), admin: hostPort(sandbox.adminUrl)}
    const config = configFromObject(
      {
        service: SERVICE,
        state: {dir: join(dir, '.gray')},
        hosts: {stable: [stable.address], gray: [{name: 'gray-1', address: gray.address}]},
        deploy: {command: ['true']},
        gateway: gatewayConfig,
        traffic: {sticky: 'cookie:uid'},
        steps: [{weight: 50, bake: '10m'}],
        metrics: {prom: {type: 'prometheus', url: prometheus.url, timeout: '2s'}},
        gates: {
          interval: `${INTERVAL_MS / 1000}s`,
          window: '5s',
          checks: [
            {
              name: 'backend-5xx',
              source: 'prom',
              errors: `sum(increase(http_requests_total{service="{service}",version="{version}",code=~"5.."}[{window}]))`,
              total: `sum(increase(http_requests_total{service="{service}",version="{version}"}[{window}]))`,
              max: 0.02,
              failures: FAILURES,
              minSamples: 10,
            },
          ],
        },
      },
      join(dir, 'gray.yaml'),
      {},
    )
    const promConfig = config.metrics.prom
    if (promConfig?.type !== 'prometheus') throw new Error('the bench config lost its prometheus source')
    const journal = new MemoryJournal(realClock)
    await journal.append('run.started', runStarted(config, `bench-${Date.now()}-${index}`, version, 'v1') as unknown as Record<string, unknown>)
    const driver = new RunDriver({
      config,
      journal,
      gateway: new SandboxGateway(gatewayConfig, SERVICE),
      deployer: new RelabelDeployer(services),
      sources: {prom: new PrometheusSource(promConfig)},
      clock: realClock,
      actor: testActor,
    })
    const driving = driver.drive()
    let ended = false
    void driving.finally(() => (ended = true)).catch(() => undefined)

    const passed = (e: JournalEvent) => e.type === 'gate.measured' && e.data.verdict === 'pass'
    for (const deadline = Date.now() + 15_000; !journal.list.some(passed); await realClock.sleep(50)) {
      if (ended) throw new Error(`the run ended before the gray version broke: ${journal.list.at(-1)?.type}`)
      if (Date.now() > deadline) {
        await driver.request('rollback', {reason: 'bench: the gate never passed'})
        await driving
        throw new Error(`the gate never passed at 50% (last: ${JSON.stringify(journal.ofType('gate.measured').at(-1)?.data.reason)})`)
      }
    }
    // break at a random phase of the gate interval, as a real failure would
    await realClock.sleep(Math.random() * INTERVAL_MS)
    gray.resetTimes()
    gray.setFailing(failShare)

    const timer = setTimeout(() => void driver.request('rollback', {reason: 'bench: no rollback within the limit'}), TRY_LIMIT_MS)
    const outcome = await driving.finally(() => clearTimeout(timer))
    const rollback = journal.ofType('rollback.started')[0]
    if (outcome.exitCode !== 3 || rollback?.data.by !== 'gates') throw new Error(`the run ended with exit code ${outcome.exitCode} without a gate rollback`)
    // let any request still in flight land before reading the last one
    await realClock.sleep(300)
    const {firstFailure, lastWhileFailing} = gray.times
    if (firstFailure === null || lastWhileFailing === null) throw new Error('the gray version never answered a failing request')
    const confirmed = journal.ofType('gateway.publish.confirmed').find((e) => e.data.purpose === 'rollback')
    const rollbackAt = Date.parse(rollback.at)
    return {
      try: index,
      timeToSafetyMs: lastWhileFailing - firstFailure,
      detectMs: rollbackAt - firstFailure,
      publishMs: confirmed ? Date.parse(confirmed.at) - rollbackAt : -1,
      fails: journal.ofType('gate.measured').filter((e) => e.data.verdict === 'fail').length,
      grayAfter: load.stats(250).recent.byRoute.gray ?? 0,
    }
  }

  const measured = results.map((r) => r.timeToSafetyMs)
  const medianMs = measured.length > 0 ? median(measured) : null
  const model = (intervalMs: number) => SCRAPE_MS + FAILURES * intervalMs
  const slowMs = model(60_000)
  return {
    bench: 'time-to-safety',
    scenario: `real Prometheus (${SCRAPE_MS / 1000} s scrape), sandbox gateway, stable + gray services, ${rps} req/s, step at 50%, gate interval ${INTERVAL_MS / 1000} s, failures ${FAILURES}, gray starts failing ${Math.round(failShare * 100)}% of its requests`,
    tries: results.length,
    misses,
    timesMs: measured,
    medianMs,
    target: 'median under 5000 ms',
    targetMet: medianMs !== null && medianMs < 5000 && misses.length === 0,
    detectMedianMs: results.length > 0 ? median(results.map((r) => r.detectMs)) : null,
    publishMedianMs: results.length > 0 ? median(results.map((r) => r.publishMs)) : null,
    grayResponsesAfterRollback: results.reduce((n, r) => n + r.grayAfter, 0),
    comparison: {
      setting: 'interval 60 s, failures 2 (the usual defaults of controller-based canary tools)',
      modelledMs: slowMs,
      how: `modelled, not measured: detection ≈ scrape delay + failures × interval = ${SCRAPE_MS} + ${FAILURES} × 60000 ms; the same model gives ${model(INTERVAL_MS)} ms for this run's 1 s interval, against ${medianMs ?? 'n/a'} ms measured`,
      ratio: medianMs ? Math.round((slowMs / medianMs) * 10) / 10 : null,
    },
    durationMs: Date.now() - started,
  }
}
