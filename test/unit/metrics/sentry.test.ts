// The Sentry source against an in-process fake of Sentry's sessions API (Sentry cannot run here).
import {afterEach, describe, expect, test} from 'vitest'
import {SentrySource} from '../../../src/adapters/metrics/sentry/index.js'
import type {Check, SentrySourceConfig} from '../../../src/core/config/model.js'
import {MetricError} from '../../../src/core/errors.js'
import {judge} from '../../../src/core/gates/judge.js'
import type {MeasureRequest} from '../../../src/core/ports.js'
import {startSentryFake, type SentryFake, type SentryFakeOptions} from '../../fakes/sentry.js'
import {check} from '../../support/fakes.js'
import {closedPort} from './replay-server.js'

const TOKEN = 'sntrys_secret_value'
const AT = Date.parse('2026-11-22T10:30:00Z')
const MIN = 60_000

const fakes: SentryFake[] = []
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()))
})

async function sentry(options: Partial<SentryFakeOptions> = {}, config: Partial<SentrySourceConfig> = {}) {
  const fake = await startSentryFake({org: 'acme', projects: [{id: 42, slug: 'app'}, {id: 43, slug: 'admin'}], token: TOKEN, now: () => AT, ...options})
  fakes.push(fake)
  const source = new SentrySource({type: 'sentry', url: fake.url, org: 'acme', project: 'app', token: TOKEN, timeoutMs: 2000, ...config})
  return {fake, source}
}

const crashFree = (overrides: Partial<Check> = {}): Check =>
  check({name: 'frontend-crash-free', source: 'crash', errors: undefined, total: undefined, release: 'app@{version}', max: undefined, min: 0.995, minSamples: 100, ...overrides})

function request(c: Check, overrides: Partial<MeasureRequest> = {}): MeasureRequest {
  return {check: c, cohort: 'gray', version: '2.0.0', service: 'checkout', hosts: [], windowMs: 10 * MIN, at: AT, ...overrides}
}

async function failure(promise: Promise<unknown>): Promise<MetricError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MetricError)
  return error as MetricError
}

describe('SentrySource', () => {
  test('reads the gray release’s crash-free rate and session count over the window', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@2.0.0', AT - 5 * MIN, {healthy: 970, crashed: 30})
    fake.addSessions('app@2.0.0', AT - 30 * MIN, {healthy: 0, crashed: 500}) // before the window
    fake.addSessions('app@1.9.0', AT - 5 * MIN, {healthy: 999, crashed: 1})
    const c = crashFree()
    const m = await source.measure(request(c))
    expect(m.value).toBeCloseTo(0.97, 10)
    expect(m.samples).toBe(1000)
    expect(m.raw).toMatchObject({release: 'app@2.0.0', start: '2026-11-22T10:20:00.000Z', end: '2026-11-22T10:30:00.000Z', sessions: 1000})
    expect(judge(c, m)).toMatchObject({verdict: 'fail', reason: '97% < min 99.5%'})
  })

  test('sends the documented request: fields, groupBy, release query, project, start/end, Bearer token', async () => {
    const {fake, source} = await sentry()
    const m = await source.measure(request(crashFree()))
    const [sent] = fake.requests
    expect(sent?.path).toBe('/api/0/organizations/acme/sessions/')
    expect(sent?.params.getAll('field')).toEqual(['crash_free_rate(session)', 'sum(session)'])
    expect(sent?.params.get('groupBy')).toBe('release')
    expect(sent?.params.get('query')).toBe('release:"app@2.0.0"')
    expect(sent?.params.get('projectSlug')).toBe('app')
    expect(sent?.params.get('start')).toBe('2026-11-22T10:20:00.000Z')
    expect(sent?.params.get('end')).toBe('2026-11-22T10:30:00.000Z')
    expect(sent?.authorization).toBe(`Bearer ${TOKEN}`)
    expect(m.query).toContain('/api/0/organizations/acme/sessions/?field=crash_free_rate')
    expect(m.query).not.toContain(TOKEN)
  })

  test('a numeric project is sent as a project id', async () => {
    const {fake, source} = await sentry({}, {project: '42'})
    fake.addSessions('app@2.0.0', AT - MIN, {healthy: 10})
    expect((await source.measure(request(crashFree()))).value).toBe(1)
    expect(fake.requests[0]?.params.get('project')).toBe('42')
    expect(fake.requests[0]?.params.has('projectSlug')).toBe(false)
  })

  test('sessions of another project are not counted', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@2.0.0', AT - MIN, {crashed: 50}, {project: 43})
    fake.addSessions('app@2.0.0', AT - MIN, {healthy: 200})
    expect(await source.measure(request(crashFree()))).toMatchObject({value: 1, samples: 200})
  })

  test('the baseline reads the stable release the same way', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@2.0.0', AT - 2 * MIN, {healthy: 985, crashed: 15})
    fake.addSessions('app@1.9.0', AT - 2 * MIN, {healthy: 9990, crashed: 10})
    const c = crashFree({min: 0.9, baseline: {maxIncrease: 1.5, minDelta: 0.001}})
    const gray = await source.measure(request(c))
    const stable = await source.measure(request(c, {cohort: 'stable', version: '1.9.0'}))
    expect(fake.requests[1]?.params.get('query')).toBe('release:"app@1.9.0"')
    expect(stable).toMatchObject({value: 0.999, samples: 10_000})
    expect(judge(c, gray, stable)).toMatchObject({verdict: 'fail', baseline: 0.999})
  })

  test('a release with no sessions yet is no data (no group at all)', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@1.9.0', AT - MIN, {healthy: 10})
    const c = crashFree()
    const m = await source.measure(request(c))
    expect(m).toMatchObject({value: null, samples: 0})
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test('a null crash-free rate is no data even with sessions counted', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@2.0.0', AT - MIN, {healthy: 500})
    fake.nullRates = true
    const c = crashFree()
    const m = await source.measure(request(c))
    expect(m).toMatchObject({value: null, samples: 500})
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test('too few sessions is no data', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('app@2.0.0', AT - MIN, {healthy: 40})
    const c = crashFree()
    expect(judge(c, await source.measure(request(c)))).toMatchObject({verdict: 'no-data', reason: '40 samples < 100 needed'})
  })

  test('a Sentry without minute resolution is asked again with its default interval, once', async () => {
    const {fake, source} = await sentry({minuteResolution: false})
    fake.addSessions('app@2.0.0', AT - 5 * MIN, {healthy: 99, crashed: 1})
    const c = crashFree()
    const m = await source.measure(request(c))
    expect(m.value).toBeCloseTo(0.99, 10)
    expect(fake.requests.map((r) => r.params.get('interval'))).toEqual(['1m', null])
    // the answered range is the whole hour Sentry rounded to
    expect(m.raw).toMatchObject({answeredStart: '2026-11-22T10:00:00Z', answeredEnd: '2026-11-22T11:00:00Z'})
    await source.measure(request(c))
    expect(fake.requests).toHaveLength(3)
    expect(fake.requests[2]?.params.has('interval')).toBe(false)
  })

  test('release names are quoted in the query', async () => {
    const {fake, source} = await sentry()
    fake.addSessions('web "beta" 2.0.0', AT - MIN, {healthy: 10})
    const m = await source.measure(request(crashFree({release: 'web "beta" {version}'})))
    expect(fake.requests[0]?.params.get('query')).toBe('release:"web \\"beta\\" 2.0.0"')
    expect(m.value).toBe(1)
  })

  test('a check without release is a permanent error', async () => {
    const {source} = await sentry()
    expect((await failure(source.measure(request(crashFree({release: undefined}))))).permanent).toBe(true)
  })
})

describe('SentrySource errors', () => {
  test('a wrong token is permanent and never shown', async () => {
    const {source} = await sentry({}, {token: 'sntrys_wrong_token'})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('HTTP 401: Invalid token')
    expect(error.message).not.toContain('sntrys_wrong_token')
    expect(error.cause).toBeUndefined()
  })

  test('no token at all is permanent', async () => {
    const {fake, source} = await sentry({}, {token: undefined})
    const error = await failure(source.measure(request(crashFree())))
    expect(fake.requests[0]?.authorization).toBeUndefined()
    expect(error.permanent).toBe(true)
  })

  test('a project the token cannot see is permanent (403)', async () => {
    const {source} = await sentry({}, {project: 'secret'})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('project secret')
  })

  test('an unknown organization is permanent (404)', async () => {
    const {source} = await sentry({}, {org: 'other'})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('organization other')
  })

  test('a 400 is permanent and shows Sentry’s detail', async () => {
    const {fake, source} = await sentry()
    fake.failNext(400, {detail: 'Invalid query: release is unknown'})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('Invalid query: release is unknown')
  })

  test.each([[429], [500], [502], [503]])('HTTP %d is retried', async (status) => {
    const {fake, source} = await sentry()
    fake.failNext(status, status === 502 ? '<html>Bad gateway</html>' : {detail: 'try later'})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain(`HTTP ${status}`)
  })

  test('a 200 that is not release-health JSON is permanent', async () => {
    const {fake, source} = await sentry()
    fake.failNext(200, '<html>sign in</html>')
    expect((await failure(source.measure(request(crashFree())))).permanent).toBe(true)
  })

  test('connection refused is retried', async () => {
    const source = new SentrySource({type: 'sentry', url: `http://127.0.0.1:${await closedPort()}`, org: 'acme', project: 'app', token: TOKEN, timeoutMs: 1000})
    const error = await failure(source.measure(request(crashFree())))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('connection refused')
    expect(error.message).not.toContain(TOKEN)
  })
})
