// A real Prometheus and a real pushgateway (the Debian binaries) on 127.0.0.1
// for integration tests and the bench, plus tiny real services that count
// http_requests_total{service,version,code}. Configs and data live in a temp dir.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtemp, rm, writeFile, rename} from 'node:fs/promises'
import {createServer as createHttpServer, type Server} from 'node:http'
import {createServer as createNetServer, type AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const PROMETHEUS_BIN = process.env.GRAY_TEST_PROMETHEUS ?? 'prometheus'
export const PUSHGATEWAY_BIN = process.env.GRAY_TEST_PUSHGATEWAY ?? 'prometheus-pushgateway'

function installed(bin: string): boolean {
  return spawnSync(bin, ['--version'], {stdio: 'ignore'}).status === 0
}

/** Both binaries can be run. In CI (CI set) tests must not skip: call this only to decide locally. */
export function prometheusAvailable(): boolean {
  return installed(PROMETHEUS_BIN) && installed(PUSHGATEWAY_BIN)
}

/** Skip integration tests only where Prometheus is absent and CI is not set (so CI never skips silently). */
export const skipWithoutPrometheus = !process.env.CI && !prometheusAvailable()

/** A port that was free a moment ago (Prometheus cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

interface Daemon {
  child: ChildProcess
  output: string[]
}

function launch(bin: string, args: string[]): Daemon {
  const child = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe']})
  const output: string[] = []
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    if (output.length > 200) output.splice(0, output.length - 200)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return {child, output}
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  const {child} = daemon
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

async function ready(daemon: Daemon, url: string, name: string): Promise<void> {
  await waitUntil(`${name} at ${url}`, async () => {
    if (daemon.child.exitCode !== null) throw new Error(`${name} exited (${daemon.child.exitCode}): ${daemon.output.slice(-5).join(' | ')}`)
    const response = await fetch(url).catch(() => undefined)
    return response?.ok ? true : undefined
  })
}

/** Starts a daemon on a free port, trying again with another port if that one was taken meanwhile. */
async function startOnFreePort(name: string, bin: string, args: (address: string) => string[], readyPath: string): Promise<{daemon: Daemon; url: string}> {
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const address = `127.0.0.1:${port}`
    const daemon = launch(bin, args(address))
    const url = `http://${address}`
    try {
      await ready(daemon, `${url}${readyPath}`, name)
      return {daemon, url}
    } catch (error) {
      lastError = error
      await stopDaemon(daemon)
    }
  }
  throw lastError
}

export interface Target {
  /** host:port serving /metrics */
  address: string
  labels?: Record<string, string>
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT */
  url: string
  dir: string
  /** replaces the scraped targets (file service discovery; Prometheus notices within a second or two) */
  setTargets(targets: Target[]): Promise<void>
  /** an instant query through the HTTP API, as a test helper (not the adapter under test) */
  query(promql: string, atMs?: number): Promise<Array<{metric: Record<string, string>; value: [number, string]}>>
  /** resolves once `promql` returns at least one series whose value passes `accept` */
  waitFor(promql: string, accept?: (value: number) => boolean, timeoutMs?: number): Promise<number>
  output(): string[]
  stop(): Promise<void>
}

export interface PrometheusOptions {
  targets?: Target[]
  /** a pushgateway to scrape too (honor_labels) */
  pushgateway?: string
  scrapeIntervalMs?: number
  /** OpenMetrics text (ending in # EOF) written into the TSDB before start with promtool tsdb create-blocks-from openmetrics */
  backfill?: string
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'gray-prometheus-'))
  const interval = `${Math.max(1, Math.round((options.scrapeIntervalMs ?? 1000) / 1000))}s`
  const targetsFile = join(dir, 'targets.json')
  const setTargets = async (targets: Target[]) => {
    const groups = targets.map((t) => ({targets: [t.address], labels: t.labels ?? {}}))
    await writeFile(`${targetsFile}.tmp`, JSON.stringify(groups))
    await rename(`${targetsFile}.tmp`, targetsFile)
  }
  await setTargets(options.targets ?? [])
  const jobs = [
    [
      '  - job_name: services',
      '    file_sd_configs:',
      `      - files: ['${targetsFile}']`,
      '        refresh_interval: 1s',
    ],
  ]
  if (options.pushgateway) {
    jobs.push(['  - job_name: pushgateway', '    honor_labels: true', '    static_configs:', `      - targets: ['${options.pushgateway.replace(/^https?:\/\//, '')}']`])
  }
  const config = ['global:', `  scrape_interval: ${interval}`, `  evaluation_interval: ${interval}`, 'scrape_configs:', ...jobs.flat(), ''].join('\n')
  await writeFile(join(dir, 'prometheus.yml'), config)
  if (options.backfill !== undefined) {
    await writeFile(join(dir, 'backfill.om'), options.backfill)
    const {execa} = await import('execa')
    await execa('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'backfill.om'), join(dir, 'data')])
  }

  let started: {daemon: Daemon; url: string}
  try {
    started = await startOnFreePort(
      'prometheus',
      PROMETHEUS_BIN,
      (address) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${address}`,
        '--log.level=warn',
      ],
      '/-/ready',
    )
  } catch (error) {
    await rm(dir, {recursive: true, force: true})
    throw error
  }
  const {daemon, url} = started

  const query: RunningPrometheus['query'] = async (promql, atMs) => {
    const body = new URLSearchParams({query: promql})
    if (atMs !== undefined) body.set('time', (atMs / 1000).toFixed(3))
    const response = await fetch(`${url}/api/v1/query`, {method: 'POST', body})
    const json = (await response.json()) as {status: string; error?: string; data?: {resultType: string; result: unknown}}
    if (json.status !== 'success') throw new Error(`query ${promql} failed: ${json.error}`)
    if (json.data?.resultType !== 'vector') throw new Error(`query ${promql} returned a ${json.data?.resultType}`)
    return json.data.result as Array<{metric: Record<string, string>; value: [number, string]}>
  }

  return {
    url,
    dir,
    setTargets,
    query,
    waitFor: (promql, accept = () => true, timeoutMs = 30_000) =>
      waitUntil(
        `Prometheus to answer ${promql}`,
        async () => {
          const result = await query(promql)
          const value = result.map((s) => Number(s.value[1])).find((v) => accept(v))
          return value
        },
        timeoutMs,
        200,
      ),
    output: () => [...daemon.output],
    stop: async () => {
      await stopDaemon(daemon)
      await rm(dir, {recursive: true, force: true})
    },
  }
}

export interface RunningPushgateway {
  url: string
  /** host:port, for a Prometheus scrape target */
  address: string
  /** replaces the metrics of the group job/<job>[/label/value…] (PUT: the whole group) */
  push(job: string, metrics: string, grouping?: Record<string, string>): Promise<void>
  stop(): Promise<void>
}

export async function startPushgateway(): Promise<RunningPushgateway> {
  const {daemon, url} = await startOnFreePort('pushgateway', PUSHGATEWAY_BIN, (address) => [`--web.listen-address=${address}`, '--log.level=warn'], '/-/ready')
  return {
    url,
    address: url.replace(/^http:\/\//, ''),
    push: async (job, metrics, grouping = {}) => {
      const path = Object.entries(grouping).map(([k, v]) => `/${encodeURIComponent(k)}/${encodeURIComponent(v)}`).join('')
      const body = metrics.endsWith('\n') ? metrics : `${metrics}\n`
      const response = await fetch(`${url}/metrics/job/${encodeURIComponent(job)}${path}`, {method: 'PUT', body, headers: {'content-type': 'text/plain; version=0.0.4'}})
      if (!response.ok) throw new Error(`pushgateway refused the push: HTTP ${response.status} ${await response.text()}`)
    },
    stop: () => stopDaemon(daemon),
  }
}

/** Front-end counters as a crash gate reads them: sessions and crashed sessions by version. */
export function crashCounters(counts: Record<string, {sessions: number; crashes: number}>): string {
  const lines = ['# TYPE app_sessions_total counter']
  for (const [version, c] of Object.entries(counts)) lines.push(`app_sessions_total{version="${version}"} ${c.sessions}`)
  lines.push('# TYPE app_crashes_total counter')
  for (const [version, c] of Object.entries(counts)) lines.push(`app_crashes_total{version="${version}"} ${c.crashes}`)
  return lines.join('\n') + '\n'
}

export interface CountingService {
  /** host:port */
  address: string
  name: string
  version: string
  /** from now on this share of requests (true: all, false: none), evenly spread, is answered 500 */
  setFailing(failing: boolean | number): void
  /** switches the version it runs (a deploy); counters of the old version stay */
  setVersion(version: string): void
  /** Date.now() of its first 500, of the last request it received, and of the last one received while failing */
  readonly times: {firstFailure: number | null; lastRequest: number | null; lastWhileFailing: number | null}
  resetTimes(): void
  /** requests it served, by code */
  readonly served: Record<string, number>
  close(): Promise<void>
}

/**
 * A tiny real HTTP service: answers {version} and counts
 * http_requests_total{service,version,code}; /metrics is not counted.
 */
export async function startCountingService(options: {
  service: string
  version: string
  name?: string
  /** codes whose counters exist at 0 for every version it runs (the Prometheus advice for known label values) */
  initCodes?: string[]
}): Promise<CountingService> {
  const counters = new Map<string, number>()
  const initialise = (v: string) => {
    for (const code of options.initCodes ?? []) if (!counters.has(`${v}\u0000${code}`)) counters.set(`${v}\u0000${code}`, 0)
  }
  initialise(options.version)
  let failShare = 0
  let failDebt = 0
  const served: Record<string, number> = {}
  const times: CountingService['times'] = {firstFailure: null, lastRequest: null, lastWhileFailing: null}
  let version = options.version

  const server: Server = createHttpServer((req, res) => {
    req.resume()
    if (req.url === '/metrics') {
      const lines = ['# TYPE http_requests_total counter']
      for (const [key, value] of counters) {
        const [v, code] = key.split('\u0000')
        lines.push(`http_requests_total{service="${options.service}",version="${v}",code="${code}"} ${value}`)
      }
      res.writeHead(200, {'content-type': 'text/plain; version=0.0.4'}).end(lines.join('\n') + '\n')
      return
    }
    const now = Date.now()
    times.lastRequest = now
    if (failShare > 0) times.lastWhileFailing = now
    failDebt += failShare
    const fails = failDebt >= 1
    if (fails) failDebt -= 1
    const code = fails ? 500 : 200
    if (fails) times.firstFailure ??= now
    const key = `${version}\u0000${code}`
    counters.set(key, (counters.get(key) ?? 0) + 1)
    served[code] = (served[code] ?? 0) + 1
    res.writeHead(code, {'content-type': 'application/json'}).end(JSON.stringify({service: options.service, version}))
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    address,
    name: options.name ?? address,
    get version() {
      return version
    },
    setFailing: (f) => {
      failShare = f === true ? 1 : f === false ? 0 : Math.min(1, Math.max(0, f))
      failDebt = 0
    },
    setVersion: (v) => {
      version = v
      initialise(v)
    },
    times,
    resetTimes: () => {
      times.firstFailure = null
      times.lastRequest = null
      times.lastWhileFailing = null
    },
    served,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Sends `count` real requests to a service (one connection at a time, enough for tests). */
export async function sendRequests(address: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://${address}/`)
    await response.arrayBuffer()
  }
}
