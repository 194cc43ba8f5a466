// Hostile peers (classes 1, 2, 3 of issue 11): every peer gray talks to —
// the http, APISIX and sandbox control planes, Prometheus, Sentry, webhooks —
// simulated on 127.0.0.1 answering in each error shape it has (status text,
// JSON error body, HTML body, headers) while echoing the credentials it was
// sent and terminal escapes, trickling bytes, or sending 50 MB. What reaches
// the journal, a terminal or a webhook holds no secret and no raw escape, and
// no call outlives its deadline or reads more than its cap.
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {ApisixGateway} from '../../../src/adapters/gateways/apisix/index.js'
import {HttpGateway} from '../../../src/adapters/gateways/http/index.js'
import {SandboxGateway} from '../../../src/adapters/gateways/sandbox/index.js'
import {PrometheusSource} from '../../../src/adapters/metrics/prometheus/index.js'
import {SentrySource} from '../../../src/adapters/metrics/sentry/index.js'
import {createNotifier} from '../../../src/adapters/notify/webhook.js'
import {configFromObject} from '../../../src/core/config/load.js'
import type {ApisixGatewayConfig, Check, HttpGatewayConfig, PrometheusSourceConfig, SentrySourceConfig} from '../../../src/core/config/model.js'
import {errorMessage} from '../../../src/core/errors.js'
import {safeOutput} from '../../../src/core/redact.js'
import type {JournalEvent, MeasureRequest} from '../../../src/core/ports.js'
import type {RunState} from '../../../src/core/run/state.js'
import {JournalFile, readJournal} from '../../../src/state/journal.js'
import {shown as redact} from '../../../src/core/redact.js'
import {testActor} from '../../support/fakes.js'
import {ERROR_SHAPES, leaks, RAW_CONTROL, startPeer, type Peer, type Shape} from '../../support/hostile.js'

// names no heuristic would call secret; values holding " and \ so their JSON form differs from the raw one
const ENV = {
  EDGE_BEARER: 'edge-"bear\\er-7Qx9Lw',
  APISIX_PASS: 'apisix-key-Pq77Zr',
  PROM_CRED: 'prom-"cred-Zk31Vb',
  SENTRY_THING: 'sentry-auth-Lm90Ty',
  HOOK_PART: 'hook-path-Ws55Ua',
}
const SECRETS = Object.values(ENV)

/** the config a user writes, loaded the way gray loads it: this is where the secrets become secrets */
function configFor(urls: {gateway?: string; apisix?: string; prom?: string; sentry?: string; hook?: string}) {
  const base = {
    service: 'shop',
    hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
    deploy: {command: ['true']},
    metrics: {
      prom: {type: 'prometheus', url: urls.prom ?? 'http://127.0.0.1:9', token: '${PROM_CRED}', timeout: '800ms'},
      crash: {type: 'sentry', url: urls.sentry ?? 'http://127.0.0.1:9', org: 'acme', project: 'app', token: '${SENTRY_THING}', timeout: '800ms'},
    },
    notify: [{webhook: `${urls.hook ?? 'http://127.0.0.1:9'}/services/\${HOOK_PART}`}],
  }
  return {
    http: configFromObject({...base, gateway: {type: 'http', url: `${urls.gateway ?? 'http://127.0.0.1:9'}/policies/{service}`, token: '${EDGE_BEARER}'}}, '/tmp/gray.yaml', ENV),
    apisix: configFromObject({...base, gateway: {type: 'apisix', url: urls.apisix ?? 'http://127.0.0.1:9', routeId: 7, key: '${APISIX_PASS}'}}, '/tmp/gray.yaml', ENV),
  }
}

const check: Check = {name: 'c', source: 'prom', query: 'up', release: '{version}', max: 1, minSamples: 0, failures: 1, critical: false, noData: 'hold', errorLimit: 1, failClosed: false, windowMs: 60_000, minPasses: 1}
const measureReq = (): MeasureRequest => ({check, cohort: 'gray', version: 'v2', service: 'shop', hosts: [], windowMs: 60_000, at: Date.now()})
const fast = {retry: {attempts: 1, baseDelayMs: 1, maxDelayMs: 1}, requestTimeoutMs: 800}

type Call = (peer: Peer) => Promise<unknown>
const PEERS: Record<string, Call> = {
  'http control plane': (peer) => new HttpGateway(configFor({gateway: peer.url}).http.gateway as HttpGatewayConfig, 'shop', {...fast, confirmTimeoutMs: 1}).readBack(),
  'APISIX Admin API': (peer) => new ApisixGateway(configFor({apisix: peer.url}).apisix.gateway as ApisixGatewayConfig, 'shop', fast).readBack(),
  'sandbox control plane': (peer) => new SandboxGateway({type: 'sandbox', listen: '127.0.0.1:9', admin: peer.host}, 'shop').readBack(),
  Prometheus: (peer) => new PrometheusSource(configFor({prom: peer.url}).http.metrics.prom as PrometheusSourceConfig).measure(measureReq()),
  Sentry: (peer) => new SentrySource(configFor({sentry: peer.url}).http.metrics.crash as SentrySourceConfig).measure({...measureReq(), check: {...check, source: 'crash'}}),
}

let dir: string
let peers: Peer[] = []
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gray-hostile-'))
  configFor({}) // registers the secrets, as loading gray.yaml does
})
afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()))
  peers = []
})

async function peer(shape: Shape, options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
  const p = await startPeer(shape, options)
  peers.push(p)
  return p
}

let journals = 0
/** `data` through the journal's door; what a later `gray status` reads back */
async function journaled(data: Record<string, unknown>): Promise<{bytes: string; data: Record<string, unknown>}> {
  const file = path.join(dir, `run-${++journals}.ndjson`)
  const journal = await JournalFile.create(file, 'gate.measured', data, {actor: testActor})
  await journal.close()
  const {events} = await readJournal(file)
  return {bytes: readFileSync(file, 'utf8'), data: (events[0] as JournalEvent).data}
}

describe.each(Object.entries(PEERS))('%s answering hostile errors', (name, call) => {
  it.each(ERROR_SHAPES)('echoes credentials and escapes in the %s: the journal and the terminal get neither', async (shape) => {
    const p = await peer(shape)
    const error = await call(p).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error, `${name} accepted a ${shape} error answer`).not.toBeNull()
    const message = errorMessage(error)
    expect(p.requests.length).toBeGreaterThan(0)
    // the threat is real: the peer's words did reach gray's message
    if (shape === 'json') expect(leaks(message, SECRETS).length + (RAW_CONTROL.test(message) ? 1 : 0)).toBeGreaterThan(0)
    const written = await journaled({error: message})
    expect(leaks(written.bytes, SECRETS)).toEqual([])
    expect(String(written.data.error)).not.toMatch(RAW_CONTROL)
    // what status, the progress lines and the report print
    const shown = redact(message)
    expect(leaks(shown, SECRETS)).toEqual([])
    expect(shown).not.toMatch(RAW_CONTROL)
    expect(leaks(safeOutput(message), SECRETS)).toEqual([])
  })

  it('that trickles a byte every 100 ms: the call fails within its total deadline', async () => {
    const p = await peer('trickle')
    // 100 000 bytes at 10 a second would take three hours without a total deadline
    const error = await call(p).then(
      () => null,
      (e: unknown) => e,
    )
    expect(errorMessage(error)).toMatch(/within|did not answer/)
  })

  it('that sends 50 MB: the answer is refused once past the cap, not buffered', async () => {
    const p = await peer('huge')
    const error = await call(p).then(
      () => null,
      (e: unknown) => e,
    )
    expect(errorMessage(error)).toMatch(/larger than \d+ MiB/)
  })
})

describe('peers whose successful answers carry the echo', () => {
  it('Prometheus warnings echoing the token are journaled masked and escaped', async () => {
    const p = await peer('ok-echo', {
      okBody: (echo) => JSON.stringify({status: 'success', data: {resultType: 'vector', result: [{metric: {}, value: [1, '0.5']}]}, warnings: [echo]}),
    })
    const m = await PEERS.Prometheus!(p) as {raw: Record<string, unknown>}
    expect(JSON.stringify(m.raw)).toMatch(/prom-/) // the peer did echo it
    const written = await journaled({raw: m.raw})
    expect(leaks(written.bytes, SECRETS)).toEqual([])
    expect(JSON.stringify(written.data)).not.toMatch(RAW_CONTROL)
  })

  it('a Sentry answer echoing the token in its fields is journaled masked and escaped', async () => {
    const p = await peer('ok-echo', {okBody: (echo) => JSON.stringify({start: echo, end: echo, groups: [{by: {release: 'v2'}, totals: {'crash_free_rate(session)': 1, 'sum(session)': 10}}]})})
    const m = await PEERS.Sentry!(p) as {raw: Record<string, unknown>}
    expect(String(m.raw.answeredStart)).toMatch(/sentry-/)
    const written = await journaled({raw: m.raw})
    expect(leaks(written.bytes, SECRETS)).toEqual([])
    expect(JSON.stringify(written.data)).not.toMatch(RAW_CONTROL)
  })
})

describe('a webhook answering hostile errors', () => {
  const state = {runId: 'r1', service: 'shop', version: 'v2', previousVersion: 'v1', stepIndex: 0} as unknown as RunState
  const event = (reason: string): JournalEvent => ({seq: 3, at: new Date().toISOString(), actor: testActor, type: 'rollback.started', data: {reason, by: 'gates'}})

  it.each([...ERROR_SHAPES, 'trickle', 'huge'] as Shape[])('in the %s: the run goes on, the log line and the body sent hold no secret', async (shape) => {
    const p = await peer(shape)
    const config = configFor({hook: p.url}).http
    const lines: string[] = []
    const notify = createNotifier(config, {log: (l) => lines.push(l), timeoutMs: 800})
    notify(event(`gate failed: Prometheus said Bearer ${ENV.PROM_CRED} ${'\x1b]52;c;ZXZpbA==\x07'}`), state)
    await notify.flush(20_000)
    expect(p.requests.length).toBe(1)
    expect(p.requests[0]!.head.split('\r\n').slice(1).join('\n')).not.toContain(ENV.HOOK_PART) // nowhere but the request line's path
    expect(leaks(p.requests[0]!.body, SECRETS)).toEqual([])
    expect(p.requests[0]!.body).not.toMatch(RAW_CONTROL)
    expect(lines.join('\n')).toMatch(/notification to notify\[0\] \(127\.0\.0\.1\) failed/)
    expect(leaks(lines.join('\n'), SECRETS)).toEqual([])
    expect(safeOutput(lines.join('\n'))).not.toMatch(RAW_CONTROL)
  })
})
