import {readFileSync} from 'node:fs'
import {afterEach, describe, expect, test} from 'vitest'
import {PrometheusSource} from '../../../src/adapters/metrics/prometheus/index.js'
import {parseSampleValue} from '../../../src/adapters/metrics/prometheus/result.js'
import type {Check} from '../../../src/core/config/model.js'
import {MetricError} from '../../../src/core/errors.js'
import {judge} from '../../../src/core/gates/judge.js'
import type {MeasureRequest} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'
import {closedPort, startReplayServer, type Answer, type Recorded, type ReplayServer} from './replay-server.js'

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/prometheus.json', import.meta.url), 'utf8')) as Record<string, Answer> & {
  _documented: Record<string, Answer>
}
const recorded = (name: string): Answer => {
  const answer = fixtures[name] ?? fixtures._documented[name]
  if (!answer) throw new Error(`no fixture ${name}`)
  return answer
}

const AT = Date.parse('2026-11-22T10:00:00.250Z')
const TOKEN = 's3cret-token-value'

const servers: ReplayServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function prometheus(answer: (req: Recorded) => Answer, token?: string) {
  const server = await startReplayServer(answer)
  servers.push(server)
  return {server, source: new PrometheusSource({type: 'prometheus', url: server.url, timeoutMs: 2000, token})}
}

const ratioCheck = (overrides: Partial<Check> = {}): Check =>
  check({
    name: 'backend-5xx',
    source: 'prom',
    errors: 'sum(increase(http_requests_total{service="{service}",version="{version}",code=~"5.."}[{window}]))',
    total: 'sum(increase(http_requests_total{service="{service}",version="{version}"}[{window}]))',
    ...overrides,
  })

const valueCheck = (query = 'q{version="{version}"}'): Check => check({name: 'latency', source: 'prom', errors: undefined, total: undefined, query, max: 0.5})

function request(c: Check, overrides: Partial<MeasureRequest> = {}): MeasureRequest {
  return {check: c, cohort: 'gray', version: 'v2', service: 'checkout', hosts: [], windowMs: 29_001, at: AT, ...overrides}
}

/** Answers each query by the first fixture whose key the query text contains. */
function byQuery(table: Record<string, Answer>) {
  return (req: Recorded): Answer => {
    const query = new URLSearchParams(req.body).get('query') ?? ''
    const hit = Object.entries(table).find(([needle]) => query.includes(needle))
    return hit ? hit[1] : {status: 500, body: 'no answer for this query'}
  }
}

async function failure(promise: Promise<unknown>): Promise<MetricError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MetricError)
  return error as MetricError
}

describe('sample values', () => {
  test.each([
    ['1.5', 1.5],
    ['0', 0],
    ['1e-3', 0.001],
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
  ])('%s is read as %d', (text, value) => {
    expect(parseSampleValue(text)).toBe(value)
  })
  test.each([['abc'], [''], [undefined], [3]])('%s is not a sample value', (text) => {
    expect(parseSampleValue(text)).toBeUndefined()
  })
})

describe('the request', () => {
  test('is a POST form to /api/v1/query with the query filled and the time pinned to the measurement', async () => {
    const {server, source} = await prometheus(() => recorded('vector'))
    const m = await source.measure(request(valueCheck('sum(increase(x{version="{version}",service="{service}"}[{window}]))')))
    expect(server.requests).toHaveLength(1)
    const [sent] = server.requests
    expect(sent?.method).toBe('POST')
    expect(sent?.url).toBe('/api/v1/query')
    expect(sent?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    const form = new URLSearchParams(sent?.body)
    expect(form.get('query')).toBe('sum(increase(x{version="v2",service="checkout"}[30s]))')
    expect(form.get('time')).toBe('1795341600.250')
    expect(m.query).toBe('sum(increase(x{version="v2",service="checkout"}[30s]))')
    expect(m.raw.evaluatedAt).toBe('2026-11-22T10:00:00.250Z')
  })

  test('keeps a path prefix in the url', async () => {
    const {server} = await prometheus(() => recorded('vector'))
    const source = new PrometheusSource({type: 'prometheus', url: `${server.url}/prom`, timeoutMs: 2000})
    await source.measure(request(valueCheck()))
    expect(server.requests[0]?.url).toBe('/prom/api/v1/query')
  })

  test('carries the token as a Bearer header, and never shows it in an error', async () => {
    const {server, source} = await prometheus(() => recorded('unauthorized'), TOKEN)
    const error = await failure(source.measure(request(valueCheck())))
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('HTTP 401')
    expect(error.message).not.toContain(TOKEN)
    expect(JSON.stringify(error)).not.toContain(TOKEN)
    expect(error.cause).toBeUndefined()
  })

  test('sends no Authorization header without a token', async () => {
    const {server, source} = await prometheus(() => recorded('vector'))
    await source.measure(request(valueCheck()))
    expect(server.requests[0]?.headers.authorization).toBeUndefined()
  })

  test('fills {previousVersion} with the stable version when measuring stable', async () => {
    const {server, source} = await prometheus(() => recorded('vector'))
    await source.measure(request(valueCheck('x{version="{previousVersion}"}'), {cohort: 'stable', version: 'v1'}))
    expect(new URLSearchParams(server.requests[0]?.body).get('query')).toBe('x{version="v1"}')
  })

  test('a placeholder with no value here is a permanent error, and nothing is sent', async () => {
    const {server, source} = await prometheus(() => recorded('vector'))
    const error = await failure(source.measure(request(valueCheck('x{version="{previousVersion}"}'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('{previousVersion}')
    expect(server.requests).toHaveLength(0)
  })
})

describe('value checks', () => {
  test('one series: its value, samples unknown', async () => {
    const {source} = await prometheus(() => recorded('crashfree'))
    const m = await source.measure(request(valueCheck()))
    expect(m.value).toBe(0.97)
    expect(m.samples).toBeNull()
    expect(m.raw.value).toBe(0.97)
  })

  test('a scalar result is read too', async () => {
    const {source} = await prometheus(() => recorded('scalar'))
    expect((await source.measure(request(valueCheck()))).value).toBe(10)
  })

  test('an empty vector is no data, never a pass', async () => {
    const {source} = await prometheus(() => recorded('empty'))
    const c = valueCheck()
    const m = await source.measure(request(c))
    expect(m.value).toBeNull()
    expect(m.raw.value).toBeNull()
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test.each([
    ['nan', 'NaN'],
    ['posinf', '+Inf'],
    ['neginf', '-Inf'],
  ])('%s is read, kept as Prometheus wrote it in the journal, and judged no data', async (name, text) => {
    const {source} = await prometheus(() => recorded(name))
    const c = valueCheck()
    const m = await source.measure(request(c))
    expect(m.value).toBe(parseSampleValue(text))
    expect(m.raw.value).toBe(text)
    expect(JSON.parse(JSON.stringify(m.raw)).value).toBe(text)
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test('warnings from Prometheus are kept for the journal', async () => {
    const {source} = await prometheus(() => recorded('warnings'))
    const m = await source.measure(request(valueCheck()))
    expect(m.value).toBe(0.25)
    expect(m.raw.warnings).toEqual(['PromQL info: metric might not be a counter'])
  })
})

describe('ratio checks', () => {
  const vector = (value: string): Answer => ({status: 200, body: {status: 'success', data: {resultType: 'vector', result: [{metric: {}, value: [AT / 1000, value]}]}}})

  test('errors / total, with total as the samples and both numbers in raw', async () => {
    const {server, source} = await prometheus(byQuery({'code=~': vector('6'), increase: vector('300')}))
    const m = await source.measure(request(ratioCheck()))
    expect(m.value).toBeCloseTo(0.02)
    expect(m.samples).toBe(300)
    expect(m.raw).toMatchObject({errors: 6, total: 300})
    expect(server.requests).toHaveLength(2)
    expect(m.query).toContain('code=~"5.."')
  })

  test('no error series while requests were counted means no errors', async () => {
    const {source} = await prometheus(byQuery({'code=~': recorded('empty'), increase: vector('300')}))
    const c = ratioCheck()
    const m = await source.measure(request(c))
    expect(m.value).toBe(0)
    expect(m.samples).toBe(300)
    expect(m.raw.errors).toBeNull()
    expect(judge(c, m).verdict).toBe('pass')
  })

  test('an empty total is no data', async () => {
    const {source} = await prometheus(byQuery({'code=~': recorded('empty'), increase: recorded('empty')}))
    const c = ratioCheck()
    const m = await source.measure(request(c))
    expect(m.value).toBeNull()
    expect(m.samples).toBeNull()
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test('a total of zero is no data', async () => {
    const {source} = await prometheus(byQuery({'code=~': vector('0'), increase: vector('0')}))
    const c = ratioCheck()
    const m = await source.measure(request(c))
    expect(m.value).toBeNull()
    expect(m.samples).toBe(0)
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test('too few requests is no data', async () => {
    const {source} = await prometheus(byQuery({'code=~': vector('0'), increase: vector('12')}))
    const c = ratioCheck({minSamples: 100})
    const m = await source.measure(request(c))
    expect(m.value).toBe(0)
    expect(judge(c, m)).toMatchObject({verdict: 'no-data', reason: '12 samples < 100 needed'})
  })

  test.each([
    ['NaN', '300'],
    ['+Inf', '300'],
    ['3', 'NaN'],
    ['3', '+Inf'],
    ['3', '-Inf'],
  ])('errors %s and total %s never pass', async (errors, total) => {
    const {source} = await prometheus(byQuery({'code=~': vector(errors), increase: vector(total)}))
    const c = ratioCheck()
    const m = await source.measure(request(c))
    expect(Number.isNaN(m.value)).toBe(true)
    expect(judge(c, m).verdict).toBe('no-data')
  })
})

describe('errors', () => {
  test('more than one series is a permanent error that names the query and says to aggregate', async () => {
    const {source} = await prometheus(() => recorded('multi'))
    const error = await failure(source.measure(request(valueCheck('up'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('The query up returns 2 series')
    expect(error.message).toContain('sum(')
  })

  test('bad_data is permanent and shows the query and Prometheus’ message', async () => {
    const {source} = await prometheus(() => recorded('bad_data'))
    const error = await failure(source.measure(request(valueCheck('sum(rate(x[1m])'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('sum(rate(x[1m])')
    expect(error.message).toContain('bad_data: invalid parameter "query": 1:34: parse error: unclosed left parenthesis')
    expect(error.message).toContain('latency')
  })

  test('execution is permanent and shows Prometheus’ message', async () => {
    const {source} = await prometheus(() => recorded('execution'))
    const error = await failure(source.measure(request(valueCheck('sum(x) * on() up'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('execution: found duplicate series for the match group')
  })

  test('a range vector is permanent and says how to make one number', async () => {
    const {source} = await prometheus(() => recorded('matrix'))
    const error = await failure(source.measure(request(valueCheck('x[5s]'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('range vector')
  })

  test('a string result is permanent', async () => {
    const {source} = await prometheus(() => recorded('string'))
    expect((await failure(source.measure(request(valueCheck('"hello"'))))).permanent).toBe(true)
  })

  test.each([['timeout'], ['unavailable'], ['canceled']])('%s is retried (not permanent) and shows Prometheus’ message', async (name) => {
    const {source} = await prometheus(() => recorded(name))
    const error = await failure(source.measure(request(valueCheck())))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain(`${name}: `)
  })

  test('a 503 without a Prometheus body (a proxy in front) is retried', async () => {
    const {source} = await prometheus(() => recorded('proxy503'))
    const error = await failure(source.measure(request(valueCheck())))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('HTTP 503')
  })

  test('HTTP 404 is permanent: the url is not a Prometheus', async () => {
    const {source} = await prometheus(() => ({status: 404, body: 'not found'}))
    const error = await failure(source.measure(request(valueCheck())))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('url')
  })

  test('a 200 that is not a Prometheus answer is permanent', async () => {
    const {source} = await prometheus(() => ({status: 200, body: '<html>login</html>'}))
    expect((await failure(source.measure(request(valueCheck())))).permanent).toBe(true)
  })

  test('connection refused is retried, and the message hides credentials in the url', async () => {
    const port = await closedPort()
    const source = new PrometheusSource({type: 'prometheus', url: `http://user:pw@127.0.0.1:${port}`, timeoutMs: 2000, token: TOKEN})
    const error = await failure(source.measure(request(valueCheck())))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe(`Cannot reach Prometheus at http://127.0.0.1:${port}: connection refused.`)
  })

  test('no answer within the timeout is retried', async () => {
    const server = await startReplayServer(() => ({...recorded('vector'), delayMs: 2000}))
    servers.push(server)
    const source = new PrometheusSource({type: 'prometheus', url: server.url, timeoutMs: 100})
    const error = await failure(source.measure(request(valueCheck())))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('no answer within 100 ms')
  })

  test('an aborted signal cancels the query', async () => {
    const {source} = await prometheus(() => ({...recorded('vector'), delayMs: 5000}))
    const controller = new AbortController()
    const pending = source.measure(request(valueCheck(), {signal: controller.signal}))
    setTimeout(() => controller.abort(), 50)
    const error = await failure(pending)
    expect(error.message).toContain('cancelled')
  })

  test('a check with neither query nor errors/total is permanent', async () => {
    const {source} = await prometheus(() => recorded('vector'))
    const c = check({errors: undefined, total: undefined, query: undefined})
    expect((await failure(source.measure(request(c)))).permanent).toBe(true)
  })
})
