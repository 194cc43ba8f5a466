// The Prometheus source against the real Prometheus from Debian (1 s scrape),
// scraping real services that count http_requests_total, and a real
// pushgateway holding front-end crash counters.
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {PrometheusSource} from '../../../src/adapters/metrics/prometheus/index.js'
import type {Check} from '../../../src/core/config/model.js'
import {MetricError} from '../../../src/core/errors.js'
import {judge} from '../../../src/core/gates/judge.js'
import type {MeasureRequest} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'
import {
  crashCounters,
  freePort,
  sendRequests,
  skipWithoutPrometheus,
  startCountingService,
  startPrometheus,
  startPushgateway,
  type CountingService,
  type RunningPrometheus,
  type RunningPushgateway,
} from '../../support/prometheus.js'

describe.skipIf(skipWithoutPrometheus)('PrometheusSource against a real Prometheus', () => {
  let prometheus: RunningPrometheus
  let pushgateway: RunningPushgateway
  let stable: CountingService
  let gray: CountingService
  let source: PrometheusSource
  let startedAt: number

  beforeAll(async () => {
    startedAt = Date.now()
    stable = await startCountingService({service: 'checkout', version: 'v1', name: 'stable-1'})
    gray = await startCountingService({service: 'checkout', version: 'v2', name: 'gray-1'})
    pushgateway = await startPushgateway()
    prometheus = await startPrometheus({targets: [{address: stable.address}, {address: gray.address}], pushgateway: pushgateway.address})
    source = new PrometheusSource({type: 'prometheus', url: prometheus.url, timeoutMs: 5000})

    // stable: 200 requests, all fine. gray: 150 fine, then 50 failing.
    await sendRequests(stable.address, 200)
    await sendRequests(gray.address, 150)
    gray.setFailing(true)
    await sendRequests(gray.address, 50)
    gray.setFailing(false)
    await pushgateway.push('frontend', crashCounters({v1: {sessions: 4000, crashes: 2}, v2: {sessions: 1000, crashes: 20}}))

    await prometheus.waitFor('sum(http_requests_total{service="checkout"})', (v) => v === 400)
    await prometheus.waitFor('sum(app_sessions_total)', (v) => v === 5000)
  })

  afterAll(async () => {
    await prometheus?.stop()
    await pushgateway?.stop()
    await stable?.close()
    await gray?.close()
  })

  const request = (c: Check, overrides: Partial<MeasureRequest> = {}): MeasureRequest => ({
    check: c,
    cohort: 'gray',
    version: 'v2',
    service: 'checkout',
    hosts: [],
    windowMs: 300_000,
    at: Date.now(),
    ...overrides,
  })

  // counters read as they stand (no increase()), so the numbers are exact
  const backend5xx = check({
    name: 'backend-5xx',
    source: 'prom',
    errors: 'sum(http_requests_total{service="{service}",version="{version}",code=~"5.."})',
    total: 'sum(http_requests_total{service="{service}",version="{version}"})',
    max: 0.01,
    minSamples: 100,
    baseline: {maxIncrease: 1.5, minDelta: 0.001},
  })

  test('a ratio check reads the gray version’s errors and requests', async () => {
    const at = Date.now()
    const m = await source.measure(request(backend5xx, {at}))
    expect(m.value).toBe(0.25)
    expect(m.samples).toBe(200)
    expect(m.raw).toMatchObject({errors: 50, total: 200, evaluatedAt: new Date(at).toISOString()})
    expect(m.query).toContain('version="v2"')
  })

  test('the stable version has no 5xx series at all: its rate is 0, and gray fails against it', async () => {
    const stableM = await source.measure(request(backend5xx, {cohort: 'stable', version: 'v1'}))
    expect(stableM.value).toBe(0)
    expect(stableM.samples).toBe(200)
    expect(stableM.raw.errors).toBeNull()
    const grayM = await source.measure(request(backend5xx))
    expect(judge(backend5xx, grayM, stableM)).toMatchObject({verdict: 'fail', reason: '25% > max 1%'})
    expect(judge({...backend5xx, max: undefined}, grayM, stableM)).toMatchObject({verdict: 'fail', baseline: 0})
  })

  test('the evaluation time is pinned: before the services existed there is no data', async () => {
    const m = await source.measure(request(backend5xx, {at: startedAt - 3_600_000}))
    expect(m.value).toBeNull()
    expect(m.raw.evaluatedAt).toBe(new Date(startedAt - 3_600_000).toISOString())
    expect(judge(backend5xx, m).verdict).toBe('no-data')
  })

  test('a version nobody runs is no data, never a pass', async () => {
    const m = await source.measure(request(backend5xx, {version: 'v9'}))
    expect(m.value).toBeNull()
    expect(judge(backend5xx, m).verdict).toBe('no-data')
  })

  test('NaN and ±Inf from real PromQL are read and never pass', async () => {
    const value = (query: string) => check({name: 'v', source: 'prom', errors: undefined, total: undefined, query, max: 1})
    const nan = await source.measure(request(value('sum(http_requests_total{version="{version}"}) * 0 / 0')))
    expect(Number.isNaN(nan.value)).toBe(true)
    expect(nan.raw.value).toBe('NaN')
    const inf = await source.measure(request(value('sum(http_requests_total{version="{version}"}) / 0')))
    expect(inf.value).toBe(Number.POSITIVE_INFINITY)
    const negInf = await source.measure(request(value('-sum(http_requests_total{version="{version}"}) / 0')))
    expect(negInf.value).toBe(Number.NEGATIVE_INFINITY)
    for (const m of [nan, inf, negInf]) expect(judge(value('x'), m).verdict).toBe('no-data')
  })

  test('a crash gate in PromQL on pushed front-end counters: crash-free = 1 - crashes/sessions', async () => {
    const crashFree = check({
      name: 'frontend-crash-free',
      source: 'prom',
      errors: undefined,
      total: undefined,
      query: '1 - sum(app_crashes_total{version="{version}"}) / sum(app_sessions_total{version="{version}"})',
      min: 0.995,
      max: undefined,
      baseline: {maxIncrease: 1.5, minDelta: 0.001},
    })
    const grayM = await source.measure(request(crashFree))
    const stableM = await source.measure(request(crashFree, {cohort: 'stable', version: 'v1'}))
    expect(grayM.value).toBeCloseTo(0.98, 10)
    expect(stableM.value).toBeCloseTo(0.9995, 10)
    expect(judge(crashFree, grayM, stableM)).toMatchObject({verdict: 'fail', reason: '0.98 < min 0.995'})
    expect(judge({...crashFree, baseline: undefined}, stableM)).toMatchObject({verdict: 'pass'})
  })

  test('the same crash gate as a ratio counts sessions as samples', async () => {
    const crashes = check({name: 'crashes', source: 'prom', errors: 'sum(app_crashes_total{version="{version}"})', total: 'sum(app_sessions_total{version="{version}"})', max: 0.005, minSamples: 2000})
    const grayM = await source.measure(request(crashes))
    expect(grayM).toMatchObject({value: 0.02, samples: 1000})
    expect(judge(crashes, grayM)).toMatchObject({verdict: 'no-data', reason: '1,000 samples < 2,000 needed'})
    const stableM = await source.measure(request(crashes, {cohort: 'stable', version: 'v1'}))
    expect(judge(crashes, stableM)).toMatchObject({verdict: 'pass', value: 0.0005})
  })

  test('more than one series is a permanent error naming the query', async () => {
    const c = check({name: 'raw', source: 'prom', errors: undefined, total: undefined, query: 'up', max: 1})
    const error = (await source.measure(request(c)).catch((e: unknown) => e)) as MetricError
    expect(error).toBeInstanceOf(MetricError)
    expect(error.permanent).toBe(true)
    expect(error.message).toMatch(/^The query up returns 3 series .*sum\(/)
  })

  test('a parse error is permanent with Prometheus’ own message', async () => {
    const c = check({name: 'typo', source: 'prom', errors: undefined, total: undefined, query: 'sum(rate(http_requests_total[1m])', max: 1})
    const error = (await source.measure(request(c)).catch((e: unknown) => e)) as MetricError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('bad_data')
    expect(error.message).toContain('unclosed left parenthesis')
  })

  test('an execution error is permanent with Prometheus’ own message', async () => {
    const c = check({name: 'join', source: 'prom', errors: undefined, total: undefined, query: 'sum(http_requests_total) * on() up', max: 1})
    const error = (await source.measure(request(c)).catch((e: unknown) => e)) as MetricError
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('execution: found duplicate series')
  })

  test('a Prometheus that is not there is retried', async () => {
    const gone = new PrometheusSource({type: 'prometheus', url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000})
    const error = (await gone.measure(request(backend5xx)).catch((e: unknown) => e)) as MetricError
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('connection refused')
  })
  // last: it sends more traffic
  test('increase over {window} is sent as a whole-seconds range and sees new traffic only', async () => {
    const windowed = check({
      name: 'windowed',
      source: 'prom',
      errors: 'sum(increase(http_requests_total{version="{version}",code=~"5.."}[{window}]))',
      total: 'sum(increase(http_requests_total{version="{version}"}[{window}]))',
      minSamples: 1,
    })
    await sendRequests(gray.address, 30)
    gray.setFailing(true)
    await sendRequests(gray.address, 30)
    gray.setFailing(false)
    await prometheus.waitFor('sum(http_requests_total{version="v2"})', (v) => v === 260)
    const m = await source.measure(request(windowed, {windowMs: 59_500}))
    expect(m.query).toContain('[60s]')
    // increase() extrapolates, so only roughly: 30 of the 60 new requests failed
    expect(m.value).toBeGreaterThan(0.3)
    expect(m.value).toBeLessThan(0.7)
    expect(m.samples).toBeGreaterThan(30)
    expect(judge(windowed, m).verdict).toBe('fail')
  })
})
