// Steady demo traffic: many distinct users (cookie uid=u<N>), a share of them
// testers (X-Gray: 1), never more than `rps` requests per second.
import {Agent, request} from 'node:http'

export interface LoadOptions {
  url: string
  /** requests per second, an upper bound */
  rps: number
  /** how many distinct users take turns: uid=u1 … u<users> */
  users: number
  /** fraction (0..1) of requests that carry X-Gray: 1 */
  grayHeaderShare?: number
  /** stops the load when it aborts */
  signal?: AbortSignal
  /** a request without an answer after this long counts as an error */
  requestTimeoutMs?: number
}

export interface LoadCounts {
  /** responses received */
  responses: number
  /** requests that got no answer: connection refused, reset, timed out */
  errors: number
  /** by the gateway's x-gray-route header: gray | stable | none */
  byRoute: Record<string, number>
  /** by the `version` in the JSON body, `unknown` when there was none */
  byVersion: Record<string, number>
  /** by HTTP status */
  byStatus: Record<string, number>
}

export interface LoadStats extends LoadCounts {
  /** requests sent since the start */
  sent: number
  /** requests not sent because too many were still waiting for an answer */
  skipped: number
  /** distinct users that got an answer */
  users: number
  /** the same counts over the last `windowMs` only */
  recent: LoadCounts & {windowMs: number}
  /** share of recent responses routed to gray; null before any came */
  grayShare: number | null
  lastError?: string
}

export interface Load {
  stats(windowMs?: number): LoadStats
  /** stops sending; resolves once every request in flight has ended */
  stop(): Promise<void>
}

interface Sample {
  at: number
  route: string
  version: string
  status: number
}

const TICK_MS = 20
const KEEP_SAMPLES_MS = 60_000
const IDLE_SOCKET_MS = 30_000
const DEFAULT_WINDOW_MS = 10_000

export function startLoad(options: LoadOptions): Load {
  const {url, rps, users} = options
  if (!(rps > 0) || !(users >= 1)) throw new Error('the demo load needs rps > 0 and at least one user')
  const share = Math.min(1, Math.max(0, options.grayHeaderShare ?? 0))
  const maxInFlight = Math.max(10, Math.ceil(rps))
  // Idle sockets are closed after 30 s, well before servers close them (nginx
  // and the sandbox: 75 s), or sooner when the server's Keep-Alive says so.
  const agent = new Agent({keepAlive: true, maxSockets: maxInFlight, timeout: IDLE_SOCKET_MS})
  const started = performance.now()

  const totals = emptyCounts()
  const samples: Sample[] = []
  const usersSeen = new Set<number>()
  const inFlight = new Set<Promise<void>>()
  let sent = 0
  let skipped = 0
  let lastError: string | undefined

  const send = (seq: number) => {
    const user = (seq % users) + 1
    // exactly `share` of requests, evenly spread
    const tester = Math.floor((seq + 1) * share) > Math.floor(seq * share)
    const headers: Record<string, string> = {cookie: `uid=u${user}`}
    if (tester) headers['x-gray'] = '1'
    const done = fetchWithRetry(url, agent, headers, options.requestTimeoutMs ?? 5000).then(
      (answer) => {
        const sample = {at: performance.now(), ...answer}
        samples.push(sample)
        add(totals, sample)
        usersSeen.add(user)
      },
      (error: unknown) => {
        totals.errors++
        samples.push({at: performance.now(), route: '', version: '', status: 0})
        lastError = error instanceof Error ? error.message : String(error)
      },
    )
    inFlight.add(done)
    void done.finally(() => inFlight.delete(done))
  }

  const tick = () => {
    // how many requests the schedule allows by now; never ahead of it
    const due = Math.floor(((performance.now() - started) * rps) / 1000) + 1
    while (sent + skipped < due) {
      if (inFlight.size >= maxInFlight) skipped++
      else send(sent++)
    }
    prune(samples, performance.now() - KEEP_SAMPLES_MS)
  }
  const timer = setInterval(tick, Math.min(TICK_MS, 1000 / rps))
  tick()

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(timer)
      options.signal?.removeEventListener('abort', onAbort)
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
      agent.destroy()
    })())
  const onAbort = () => void stop()
  if (options.signal?.aborted) void stop()
  else options.signal?.addEventListener('abort', onAbort, {once: true})

  const stats = (windowMs = DEFAULT_WINDOW_MS): LoadStats => {
    const since = performance.now() - windowMs
    const recent = emptyCounts()
    for (const sample of samples) {
      if (sample.at < since) continue
      if (sample.status === 0) recent.errors++
      else add(recent, sample)
    }
    const gray = recent.byRoute.gray ?? 0
    return {
      ...structuredClone(totals),
      sent,
      skipped,
      users: usersSeen.size,
      recent: {...recent, windowMs},
      grayShare: recent.responses > 0 ? gray / recent.responses : null,
      lastError,
    }
  }

  return {stats, stop}
}

function emptyCounts(): LoadCounts {
  return {responses: 0, errors: 0, byRoute: {}, byVersion: {}, byStatus: {}}
}

function add(counts: LoadCounts, sample: Sample): void {
  counts.responses++
  counts.byRoute[sample.route] = (counts.byRoute[sample.route] ?? 0) + 1
  counts.byVersion[sample.version] = (counts.byVersion[sample.version] ?? 0) + 1
  counts.byStatus[sample.status] = (counts.byStatus[sample.status] ?? 0) + 1
}

function prune(samples: Sample[], before: number): void {
  let old = 0
  while (old < samples.length && (samples[old] as Sample).at < before) old++
  if (old > 0) samples.splice(0, old)
}

type Answer = Omit<Sample, 'at'>

/**
 * A GET whose kept-alive socket was closed by the server as it was reused is
 * sent again once on a new socket, as browsers do (RFC 9112 §9.3.1): the
 * request never reached the gateway, so it is not a lost answer. The second
 * try takes a connection of its own: sockets that went idle together are
 * closed together, and another pooled one may be just as stale.
 */
async function fetchWithRetry(url: string, agent: Agent, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
  try {
    return await fetchOne(url, agent, headers, timeoutMs)
  } catch (error) {
    if (!(error instanceof StaleSocketError)) throw error
    return fetchOne(url, false, headers, timeoutMs)
  }
}

class StaleSocketError extends Error {}

function fetchOne(url: string, agent: Agent | false, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = request(url, {agent, headers}, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        clearTimeout(timer)
        const route = res.headers['x-gray-route']
        resolve({
          status: res.statusCode ?? 0,
          route: typeof route === 'string' ? route : 'none',
          version: versionIn(Buffer.concat(chunks).toString('utf8')),
        })
      })
    })
    // The check waits for the I/O phase after the timers: when this process was
    // busy (not the gateway slow), answers already received are read first.
    const timer = setTimeout(
      () => setImmediate(() => answered || req.destroy(new Error(`no answer within ${timeoutMs}ms`))),
      timeoutMs,
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const stale = req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')
      reject(stale ? new StaleSocketError(error.message) : error)
    })
    req.end()
  })
}

function versionIn(body: string): string {
  try {
    const parsed = JSON.parse(body) as {version?: unknown}
    return typeof parsed.version === 'string' ? parsed.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
