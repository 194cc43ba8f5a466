import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, test} from 'vitest'
import type {Check, Host} from '../../../src/core/config/model.js'
import {MetricError} from '../../../src/core/errors.js'
import type {MeasureRequest} from '../../../src/core/ports.js'
import {ScrapeSource} from '../../../src/adapters/metrics/scrape/index.js'

interface Exporter {
  host: Host
  /** what /metrics answers next */
  counters: {ok: number; failed: number}
  body?: string
  status: number
  close(): Promise<void>
}

const running: Exporter[] = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()))
})

function exposition(version: string, ok: number, failed: number): string {
  return [
    '# HELP http_requests_total Requests.',
    '# TYPE http_requests_total counter',
    `http_requests_total{service="checkout",version="${version}",code="200"} ${ok}`,
    `http_requests_total{service="checkout",version="${version}",code="503"} ${failed}`,
    `http_requests_total{service="other",version="${version}",code="500"} 999`,
    'queue_depth 7',
    '',
  ].join('\n')
}

async function startExporter(name: string): Promise<Exporter> {
  const exporter: Exporter = {
    host: {name, address: ''},
    counters: {ok: 0, failed: 0},
    status: 200,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(exporter.status, {'content-type': 'text/plain; version=0.0.4'})
    res.end(exporter.body ?? exposition('v2', exporter.counters.ok, exporter.counters.failed))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  exporter.host.address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  running.push(exporter)
  return exporter
}

function check(over: Partial<Check> = {}): Check {
  return {
    name: 'backend-5xx',
    source: 'local',
    errors: 'http_requests_total{service="{service}", version="{version}", code=~"5.."}',
    total: 'http_requests_total{service="{service}", version="{version}"}',
    minSamples: 1,
    failures: 2,
    critical: false,
    noData: 'hold',
    errorLimit: 4,
    failClosed: false,
    windowMs: 300_000,
    minPasses: 3,
    ...over,
  }
}

function source(): ScrapeSource {
  return new ScrapeSource({type: 'scrape', path: '/metrics', timeoutMs: 2000})
}

function at(seconds: number, hosts: Host[], over: Partial<MeasureRequest> = {}): MeasureRequest {
  return {check: check(), cohort: 'gray', version: 'v2', service: 'checkout', hosts, windowMs: 300_000, at: 1_700_000_000_000 + seconds * 1000, ...over}
}

describe('ScrapeSource', () => {
  test('the first scrape has no data; later ones give errors/total over the window, summed over hosts', async () => {
    const a = await startExporter('web-1')
    const b = await startExporter('web-2')
    const hosts = [a.host, b.host]
    const scrape = source()
    a.counters = {ok: 1000, failed: 10}
    b.counters = {ok: 500, failed: 0}
    const first = await scrape.measure(at(0, hosts))
    expect(first.value).toBe(null)
    expect(first.raw).toMatchObject({hosts: 0})

    a.counters = {ok: 1090, failed: 20}
    b.counters = {ok: 600, failed: 0}
    const second = await scrape.measure(at(30, hosts))
    // errors 10, total (90 + 10) + 100
    expect(second.value).toBeCloseTo(10 / 200)
    expect(second.samples).toBe(200)
    expect(second.raw).toEqual({errors: 10, total: 200, hosts: 2, from: new Date(at(0, hosts).at).toISOString(), to: new Date(at(30, hosts).at).toISOString()})
    expect(second.query).toBe('http_requests_total{service="checkout", version="v2", code=~"5.."} / http_requests_total{service="checkout", version="v2"}')
  })

  test('only scrapes inside the window count', async () => {
    const a = await startExporter('web-1')
    const scrape = source()
    a.counters = {ok: 0, failed: 0}
    await scrape.measure(at(0, [a.host]))
    a.counters = {ok: 100, failed: 100}
    await scrape.measure(at(100, [a.host]))
    a.counters = {ok: 200, failed: 100}
    const measured = await scrape.measure(at(200, [a.host], {windowMs: 150_000}))
    // the window starts at 50 s, so the scrape at 100 s is the baseline
    expect(measured.raw).toMatchObject({errors: 0, total: 100})
    expect(measured.value).toBe(0)
  })

  test('a counter that drops was reset, and its new value counts', async () => {
    const a = await startExporter('web-1')
    const scrape = source()
    a.counters = {ok: 5000, failed: 50}
    await scrape.measure(at(0, [a.host]))
    a.counters = {ok: 5100, failed: 60}
    await scrape.measure(at(30, [a.host]))
    a.counters = {ok: 40, failed: 5}
    const measured = await scrape.measure(at(60, [a.host]))
    // 0→30 s: errors 10, total 110; the restart: errors 5, total 45
    expect(measured.raw).toMatchObject({errors: 15, total: 155})
    expect(measured.value).toBeCloseTo(15 / 155)
  })

  test('no requests in the window is no data', async () => {
    const a = await startExporter('web-1')
    const scrape = source()
    a.counters = {ok: 10, failed: 1}
    await scrape.measure(at(0, [a.host]))
    const measured = await scrape.measure(at(30, [a.host]))
    expect(measured.value).toBe(null)
    expect(measured.samples).toBe(0)
  })

  test('a series that appears between scrapes counts from zero', async () => {
    const a = await startExporter('web-1')
    const scrape = source()
    a.body = 'http_requests_total{service="checkout",version="v2",code="200"} 100\n'
    await scrape.measure(at(0, [a.host]))
    a.body = undefined
    a.counters = {ok: 190, failed: 10}
    const measured = await scrape.measure(at(30, [a.host]))
    expect(measured.raw).toMatchObject({errors: 10, total: 100})
  })

  test('a value check sums the selected series now', async () => {
    const a = await startExporter('web-1')
    const b = await startExporter('web-2')
    const scrape = source()
    const valueCheck = check({errors: undefined, total: undefined, query: 'queue_depth'})
    const measured = await scrape.measure(at(0, [a.host, b.host], {check: valueCheck}))
    expect(measured.value).toBe(14)
    expect(measured.samples).toBe(null)
    const none = await scrape.measure(at(0, [a.host], {check: check({errors: undefined, total: undefined, query: 'absent_metric'})}))
    expect(none.value).toBe(null)
  })

  test('an unreachable host is a retryable MetricError naming it', async () => {
    const a = await startExporter('web-1')
    const dead = await startExporter('web-dead')
    await dead.close()
    const error = await source().measure(at(0, [a.host, dead.host])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MetricError)
    expect((error as MetricError).permanent).toBe(false)
    expect((error as MetricError).message).toBe(`Cannot scrape metrics from web-dead (http://${dead.host.address}/metrics): connection refused.`)
  })

  test('an HTTP error is a MetricError naming host and status', async () => {
    const a = await startExporter('web-1')
    a.status = 500
    const error = await source().measure(at(0, [a.host])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MetricError)
    expect((error as MetricError).message).toContain('web-1')
    expect((error as MetricError).message).toContain('HTTP 500')
  })

  test('malformed text is a MetricError naming host and line', async () => {
    const a = await startExporter('web-1')
    a.body = 'ok 1\nbroken{code="5"\n'
    const error = await source().measure(at(0, [a.host])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MetricError)
    expect((error as MetricError).message).toMatch(/^The metrics from web-1 \(http:\/\/127\.0\.0\.1:\d+\/metrics\) are malformed at line 2: /)
  })

  test('PromQL and unknown placeholders are permanent errors', async () => {
    const a = await startExporter('web-1')
    const promql = check({errors: 'sum(increase(x[{window}]))'})
    const error = await source().measure(at(0, [a.host], {check: promql})).catch((e: unknown) => e)
    expect((error as MetricError).permanent).toBe(true)
    expect((error as MetricError).message).toContain('{window}')
    const notSelector = await source()
      .measure(at(0, [a.host], {check: check({errors: 'sum(rate(x[5m]))'})}))
      .catch((e: unknown) => e)
    expect((notSelector as MetricError).permanent).toBe(true)
    expect((notSelector as MetricError).message).toContain('"sum(rate(x[5m]))" is not one')
  })
})
