// Time to safety, end to end: real Prometheus (1 s scrape) scraping real
// stable and gray services behind real nginx (the sandbox gateway where nginx
// is not installed), steady load, a run baking at 50% with a 1 s gate
// interval, driven by the real engine. The gray version starts failing at a
// known moment; we time from its first failing response to the last request
// that reached it (after that, none does). The same is then measured once with
// a 60 s interval, the usual default of controller-based canary tools.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {systemClock} from '../../src/adapters/clock.js'
import {NginxGateway} from '../../src/adapters/gateways/nginx/index.js'
import {PrometheusSource} from '../../src/adapters/metrics/prometheus/index.js'
import {SandboxGateway} from '../../src/adapters/gateways/sandbox/index.js'
import {startSandbox} from '../../src/adapters/gateways/sandbox/server.js'
import {configFromObject} from '../../src/core/config/load.js'
import type {GatewayConfig, GrayConfig, NginxGatewayConfig} from '../../src/core/config/model.js'
import type {Deployer, DeployRequest, DeployResult, Gateway, JournalEvent} from '../../src/core/ports.js'
import {runStarted} from '../../src/core/run/begin.js'
import {RunDriver} from '../../src/core/run/driver.js'
import {plainPolicy} from '../../src/core/run/policy.js'
import {startLoad} from '../../src/demo/load.js'
import {MemoryJournal, testActor} from '../support/fakes.js'
import {nginxBinary, startNginx} from '../support/nginx.js'
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
  /** the gateway in front: nginx when it is installed */
  gateway?: 'nginx' | 'sandbox'
  /** also time one try with a 60 s interval (about 2-3 minutes); on unless false */
  slowTry?: boolean
}

const SCRAPE_MS = 1000
const INTERVAL_MS = 1000
/** the usual defaults of controller-based canary tools: check every minute over the last minute */
const SLOW_INTERVAL_MS = 60_000
const FAILURES = 2
const SERVICE = 'bench'
const VARIABLE = 'gray_bench_upstream'
/** a try that has not rolled back this long after the break counts as a miss */
const tryLimitMs = (intervalMs: number) => 20_000 + (FAILURES + 1) * intervalMs

interface Interval {
  intervalMs: number
  window: string
}
const FAST: Interval = {intervalMs: INTERVAL_MS, window: '5s'}
const SLOW: Interval = {intervalMs: SLOW_INTERVAL_MS, window: '1m'}

/** The gateway users reach the services through. */
interface FrontDoor {
  name: string
  url: string
  config: GatewayConfig
  gateway: Gateway
  close(): Promise<void>
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
  const configFor = (gateway: GatewayConfig, interval: Interval): GrayConfig =>
    configFromObject(
      {
        service: SERVICE,
        state: {dir: join(dir, '.gray')},
        hosts: {stable: [stable.address], gray: [{name: 'gray-1', address: gray.address}]},
        deploy: {command: ['true']},
        gateway,
        traffic: {sticky: 'cookie:uid'},
        steps: [{weight: 50, bake: '10m'}],
        metrics: {prom: {type: 'prometheus', url: prometheus.url, timeout: '2s'}},
        gates: {
          interval: `${interval.intervalMs / 1000}s`,
          window: interval.window,
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
  const door = await openFrontDoor(opts.gateway ?? (nginxBinary() ? 'nginx' : 'sandbox'), (gateway) => configFor(gateway, FAST))
  const load = startLoad({url: door.url, rps, users: 2000, requestTimeoutMs: 2000})
  const services = new Map([
    [stable.address, stable],
    [gray.address, gray],
  ])
  const results: Try[] = []
  const misses: string[] = []
  let slow: Try | string | null = null
  try {
    await prometheus.waitFor('count(up == 1)', (v) => v === 2)
    for (let i = 1; i <= tries; i++) {
      try {
        const result = await oneTry(i, FAST)
        results.push(result)
        log(`try ${i}: ${result.timeToSafetyMs} ms to safety (detected after ${result.detectMs} ms, weight 0 confirmed ${result.publishMs} ms later)`)
      } catch (error) {
        misses.push(`try ${i}: ${error instanceof Error ? error.message : String(error)}`)
        log(misses.at(-1) as string)
      }
    }
    if (opts.slowTry !== false) {
      log(`one try with a ${SLOW_INTERVAL_MS / 1000} s interval (takes minutes)…`)
      slow = await oneTry(tries + 1, SLOW).catch((error: unknown) => `missed: ${error instanceof Error ? error.message : String(error)}`)
      log(typeof slow === 'string' ? slow : `${SLOW_INTERVAL_MS / 1000} s interval: ${slow.timeToSafetyMs} ms to safety`)
    }
  } finally {
    await load.stop()
    await door.close()
    await prometheus.stop()
    await stable.close()
    await gray.close()
    await rm(dir, {recursive: true, force: true})
  }

  async function oneTry(index: number, interval: Interval): Promise<Try> {
    const version = `v2-${index}`
    gray.setFailing(false)
    gray.setVersion('v1')
    const config = configFor(door.config, interval)
    const promConfig = config.metrics.prom
    if (promConfig?.type !== 'prometheus') throw new Error('the bench config lost its prometheus source')
    const journal = new MemoryJournal(systemClock)
    await journal.append('run.started', runStarted(config, `bench-${Date.now()}-${index}`, version, 'v1') as unknown as Record<string, unknown>)
    const driver = new RunDriver({
      config,
      journal,
      gateway: door.gateway,
      deployer: new RelabelDeployer(services),
      sources: {prom: new PrometheusSource(promConfig)},
      clock: systemClock,
      actor: testActor,
    })
    const driving = driver.drive()
    let ended = false
    void driving.finally(() => (ended = true)).catch(() => undefined)

    const passed = (e: JournalEvent) => e.type === 'gate.measured' && e.data.verdict === 'pass'
    for (const deadline = Date.now() + 15_000 + interval.intervalMs; !journal.list.some(passed); await systemClock.sleep(50)) {
      if (ended) throw new Error(`the run ended before the gray version broke: ${journal.list.at(-1)?.type}`)
      if (Date.now() > deadline) {
        await driver.request('rollback', {reason: 'bench: the gate never passed'})
        await driving
        throw new Error(`the gate never passed at 50% (last: ${JSON.stringify(journal.ofType('gate.measured').at(-1)?.data.reason)})`)
      }
    }
    // break at a random phase of the gate interval, as a real failure would
    await systemClock.sleep(Math.random() * interval.intervalMs)
    gray.resetTimes()
    gray.setFailing(failShare)

    const timer = setTimeout(() => void driver.request('rollback', {reason: 'bench: no rollback within the limit'}), tryLimitMs(interval.intervalMs))
    const outcome = await driving.finally(() => clearTimeout(timer))
    const rollback = journal.ofType('rollback.started')[0]
    if (outcome.exitCode !== 3 || rollback?.data.by !== 'gates') throw new Error(`the run ended with exit code ${outcome.exitCode} without a gate rollback`)
    // let any request still in flight land before reading the last one
    await systemClock.sleep(300)
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
  const slowMs = typeof slow === 'object' && slow !== null ? slow.timeToSafetyMs : null
  return {
    bench: 'time-to-safety',
    scenario: `real Prometheus (${SCRAPE_MS / 1000} s scrape), ${door.name} in front, stable + gray services, ${rps} req/s, step at 50%, gate interval ${INTERVAL_MS / 1000} s over a ${FAST.window} window, failures ${FAILURES}, gray starts failing ${Math.round(failShare * 100)}% of its requests`,
    tries: results.length,
    misses,
    timesMs: measured,
    medianMs,
    target: 'median under 5000 ms',
    targetMet: medianMs !== null && medianMs < 5000 && misses.length === 0,
    detectMedianMs: results.length > 0 ? median(results.map((r) => r.detectMs)) : null,
    publishMedianMs: results.length > 0 ? median(results.map((r) => r.publishMs)) : null,
    grayResponsesAfterRollback: results.reduce((n, r) => n + r.grayAfter, 0) + (typeof slow === 'object' && slow !== null ? slow.grayAfter : 0),
    comparison: {
      setting: `interval ${SLOW_INTERVAL_MS / 1000} s over a ${SLOW.window} window, failures ${FAILURES} (the usual defaults of controller-based canary tools)`,
      measuredMs: slow === null ? 'not run (slowTry: false)' : slowMs ?? slow,
      modelledMs: model(SLOW_INTERVAL_MS),
      how: `one try, measured the same way; a random phase of the interval makes a single figure vary between about ${model(SLOW_INTERVAL_MS) - SLOW_INTERVAL_MS} and ${model(SLOW_INTERVAL_MS)} ms (the model: scrape delay + failures × interval)`,
      ratio: medianMs && slowMs ? `${(slowMs / medianMs).toFixed(1)}x slower than gray's 1 s interval` : null,
    },
    durationMs: Date.now() - started,
  }
}

/** nginx (its own prefix, gray's include first written with the plain policy) or the sandbox gateway. */
async function openFrontDoor(kind: 'nginx' | 'sandbox', configFor: (gateway: GatewayConfig) => GrayConfig): Promise<FrontDoor> {
  if (kind === 'sandbox') {
    const sandbox = await startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0'})
    const config: GatewayConfig = {type: 'sandbox', listen: hostPort(sandbox.listenUrl), admin: hostPort(sandbox.adminUrl)}
    return {name: 'the sandbox gateway', url: sandbox.listenUrl, config, gateway: new SandboxGateway(config, SERVICE), close: () => sandbox.close()}
  }
  const nginx = await startNginx({
    includeName: `${SERVICE}.conf`,
    include: (include) => {
      const first: NginxGatewayConfig = {type: 'nginx', include, variable: VARIABLE, test: ['true'], reload: ['true']}
      return new NginxGateway(first, SERVICE).render(plainPolicy(configFor(first), {runId: 'bench', lastSeq: 0}))
    },
    servers: (port) => `    server {
        listen 127.0.0.1:${port};
        keepalive_requests 100000;
        location / { proxy_pass http://$${VARIABLE}; }
    }`,
  })
  const config: NginxGatewayConfig = {type: 'nginx', include: nginx.includePath, variable: VARIABLE, test: nginx.testArgv, reload: nginx.reloadArgv}
  return {name: 'real nginx', url: nginx.baseUrl, config, gateway: new NginxGateway(config, SERVICE), close: () => nginx.stop()}
}
