// What the engine does when a peer is slow (class 3 of issue 11), with the
// real adapters against loopback peers that trickle a byte every 100 ms:
// a publish is retried within its budget, then the run holds (paused, cause
// gateway) as any publish error does; a measurement counts as an error, and
// after errorLimit errors the run pauses — or rolls back with failClosed.
import {afterEach, describe, expect, it} from 'vitest'

import {systemClock} from '../../../src/adapters/clock.js'
import {HttpGateway} from '../../../src/adapters/gateways/http/index.js'
import {PrometheusSource} from '../../../src/adapters/metrics/prometheus/index.js'
import type {Gateway, MetricSource} from '../../../src/core/ports.js'
import {runStarted} from '../../../src/core/run/begin.js'
import {RunDriver} from '../../../src/core/run/driver.js'
import {check, FakeDeployer, MemoryGateway, MemoryJournal, ScriptedSource, healthy, testActor, testConfig} from '../../support/fakes.js'
import {startPeer, type Peer} from '../../support/hostile.js'

let peers: Peer[] = []
afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()))
  peers = []
})

async function drive(parts: {gateway?: Gateway; source?: MetricSource; failClosed?: boolean}) {
  const config = testConfig({
    steps: [{weight: 10, bakeMs: 60_000, pause: false}, {weight: 100, bakeMs: 1_000, pause: false}],
    gates: {intervalMs: 50, windowMs: 60_000, checks: [check({query: 'up', errors: undefined, total: undefined, max: 1, minSamples: 0, errorLimit: 2, failClosed: parts.failClosed ?? false})]},
  })
  const journal = new MemoryJournal(systemClock)
  const deployer = new FakeDeployer(systemClock, [...config.hosts.gray, ...config.hosts.stable])
  await journal.append('run.started', runStarted(config, 'run-1', 'v2', 'v1') as unknown as Record<string, unknown>)
  const driver = new RunDriver({
    config,
    journal,
    gateway: parts.gateway ?? new MemoryGateway(),
    deployer,
    sources: {m: parts.source ?? new ScriptedSource(() => healthy())},
    clock: systemClock,
    actor: testActor,
    options: {publishAttempts: 2, backoffBaseMs: 10, backoffMaxMs: 10, rollbackPublishDeadlineMs: 1_000},
  })
  const outcome = await driver.drive()
  return {outcome, journal}
}

describe('a slow peer during a run', () => {
  it('a control plane that trickles: each publish try ends at its deadline, then the run holds (paused, cause gateway)', async () => {
    const p = await startPeer('trickle')
    peers.push(p)
    const gateway = new HttpGateway({type: 'http', url: `${p.url}/policies/{service}`}, 'checkout', {requestTimeoutMs: 300, retry: {attempts: 2, baseDelayMs: 5, maxDelayMs: 5}, confirmTimeoutMs: 100, confirmIntervalMs: 10})
    const {outcome, journal} = await drive({gateway})
    expect(outcome.exitCode).toBe(4)
    expect(outcome.state.status).toBe('paused')
    const failed = journal.ofType('gateway.publish.failed')
    expect(failed).toHaveLength(2)
    for (const f of failed) expect(String(f.data.error)).toMatch(/did not answer within 0\.3 s/)
    expect(journal.ofType('run.paused')[0]?.data).toMatchObject({cause: 'gateway', reason: expect.stringMatching(/^gateway did not take the policy: .*did not answer within/)})
    // nothing was deployed or sent to gray while the gateway could not be reached
    expect(journal.ofType('host.deploy.started')).toHaveLength(0)
  })

  it('a Prometheus that trickles: each measurement is an error, and after errorLimit the run pauses (cause gates)', async () => {
    const p = await startPeer('trickle')
    peers.push(p)
    const source = new PrometheusSource({type: 'prometheus', url: p.url, timeoutMs: 200})
    const {outcome, journal} = await drive({source})
    expect(outcome.state.status).toBe('paused')
    const measured = journal.ofType('gate.measured')
    expect(measured.length).toBeGreaterThanOrEqual(2)
    for (const m of measured) expect(m.data).toMatchObject({verdict: 'error', reason: expect.stringMatching(/no answer within 200 ms/)})
    expect(journal.ofType('run.paused')[0]?.data).toMatchObject({cause: 'gates', reason: expect.stringMatching(/could not be measured 2 times in a row/)})
  })

  it('with failClosed, the same slow Prometheus rolls the run back', async () => {
    const p = await startPeer('trickle')
    peers.push(p)
    const source = new PrometheusSource({type: 'prometheus', url: p.url, timeoutMs: 200})
    const {outcome, journal} = await drive({source, failClosed: true})
    expect(outcome.state.status).toBe('rolled_back')
    expect(outcome.exitCode).toBe(3)
    expect(journal.ofType('rollback.started')[0]?.data.reason).toMatch(/could not be measured 2 times in a row: .*no answer within 200 ms.*\(failClosed\)/)
  })

  it('a Prometheus that sends 50 MB: the measurement is an error, not 50 MB in memory', async () => {
    const p = await startPeer('huge')
    peers.push(p)
    const source = new PrometheusSource({type: 'prometheus', url: p.url, timeoutMs: 5_000})
    const {outcome, journal} = await drive({source})
    expect(outcome.state.status).toBe('paused')
    expect(journal.ofType('gate.measured')[0]?.data.reason).toMatch(/larger than 4 MiB/)
  })
})

describe('a source slower than the gate interval', () => {
  it('still lets the bake end: the step passes once its gates have passed, however long each measurement takes', async () => {
    const {harness} = await import('../../support/harness.js')
    const h = harness({steps: [{weight: 10, bakeMs: 60_000, pause: false}, {weight: 100, bakeMs: 60_000, pause: false}]})
    // every measurement takes 45 s of (virtual) time against a 30 s interval
    h.source.script = async () => {
      await h.clock.sleep(45_000)
      return healthy()
    }
    const out = await h.start()
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('step.passed')).toHaveLength(2)
  })
})
