import {afterEach, expect, test} from 'vitest'
import {probeSources} from '../../../src/adapters/metrics/connect.js'
import {check, testConfig} from '../../support/fakes.js'
import {closedPort, startReplayServer, type ReplayServer} from './replay-server.js'

const servers: ReplayServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

test('runs each check once for gray and, with a baseline, for stable, through the configured sources', async () => {
  const prometheus = await startReplayServer((req) => {
    const query = new URLSearchParams(req.body).get('query') ?? ''
    if (query.includes('typo(')) return {status: 400, body: {status: 'error', errorType: 'bad_data', error: 'parse error: unexpected end of input'}}
    const value = query.includes('"v1"') ? '0.001' : '0.004'
    return {status: 200, body: {status: 'success', data: {resultType: 'vector', result: [{metric: {}, value: [0, value]}]}}}
  })
  servers.push(prometheus)
  const down = await closedPort()
  const config = testConfig({
    metrics: {
      prom: {type: 'prometheus', url: prometheus.url, timeoutMs: 2000},
      gone: {type: 'prometheus', url: `http://127.0.0.1:${down}`, timeoutMs: 2000},
      unused: {type: 'command', command: ['false'], timeoutMs: 1000},
    },
    gates: {
      intervalMs: 1000,
      windowMs: 60_000,
      checks: [
        check({name: 'rate', source: 'prom', errors: undefined, total: undefined, query: 'r{version="{version}"}', baseline: {maxIncrease: 2, minDelta: 0.001}}),
        check({name: 'typo', source: 'prom', errors: undefined, total: undefined, query: 'typo('}),
        check({name: 'outage', source: 'gone', errors: undefined, total: undefined, query: 'x'}),
      ],
    },
  })
  const at = Date.parse('2026-11-22T10:00:00Z')
  const probes = await probeSources(config, {version: 'v2', previousVersion: 'v1', at})
  expect(probes.map((p) => [p.check, p.cohort, p.version, p.ok])).toEqual([
    ['rate', 'gray', 'v2', true],
    ['rate', 'stable', 'v1', true],
    ['typo', 'gray', 'v2', false],
    ['outage', 'gray', 'v2', false],
  ])
  expect(probes[0]).toMatchObject({value: 0.004, samples: null, query: 'r{version="v2"}'})
  expect(probes[1]).toMatchObject({value: 0.001, query: 'r{version="v1"}'})
  expect(probes[2]).toMatchObject({permanent: true, query: null})
  expect(probes[2]?.error).toContain('parse error: unexpected end of input')
  expect(probes[3]).toMatchObject({permanent: false})
  expect(probes[3]?.error).toContain('connection refused')
  expect(new URLSearchParams(prometheus.requests[0]?.body).get('time')).toBe(String(at / 1000) + '.000')
})

test('without a version it reads the previous version, and without gates it probes nothing', async () => {
  const prometheus = await startReplayServer(() => ({status: 200, body: {status: 'success', data: {resultType: 'vector', result: []}}}))
  servers.push(prometheus)
  const config = testConfig({
    metrics: {prom: {type: 'prometheus', url: prometheus.url, timeoutMs: 2000}},
    gates: {intervalMs: 1000, windowMs: 60_000, checks: [check({name: 'rate', source: 'prom', errors: undefined, total: undefined, query: 'r{version="{version}"}'})]},
  })
  const [probe] = await probeSources(config, {previousVersion: 'v1'})
  expect(probe).toMatchObject({check: 'rate', version: 'v1', ok: true, value: null, query: 'r{version="v1"}'})
  expect(await probeSources(testConfig({gates: undefined}))).toEqual([])
})
