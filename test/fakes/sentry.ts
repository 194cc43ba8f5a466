// A FAKE of Sentry's release-health sessions API, in-process on 127.0.0.1.
// Sentry itself cannot run here, so this is built from Sentry's documented
// request and response shapes, not recorded from a real server:
//   GET /api/0/organizations/{org}/sessions/  (docs: "Retrieve Release Health
//   Session Statistics", api-docs/paths/releases/sessions.json in getsentry/sentry)
//   field=sum(session) | crash_free_rate(session) | crash_rate(session) (repeatable),
//   groupBy=release|project|environment|session.status, query=release:"X" [OR …],
//   statsPeriod (overrides start/end) or start/end (ISO-8601), interval,
//   project=<id> (repeatable, -1 = all) or projectSlug=<slug> (Sentry's organization
//   endpoints; both at once is a 400), Authorization: Bearer <token>.
// Answers {start, end, intervals, groups: [{by, totals, series}], query}; a
// crash_free_rate over no sessions is null, as Sentry writes it. The range is
// aligned to the interval (start down, end up, end inclusive) as Sentry does;
// intervals must divide a day, and below one hour only when minute resolution
// is on. Errors are {"detail": "..."} with Sentry's status codes.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface SessionCounts {
  healthy?: number
  errored?: number
  crashed?: number
  abnormal?: number
}

interface Bucket extends Required<SessionCounts> {
  release: string
  project: number
  environment: string
  at: number
}

export interface FakeRequest {
  path: string
  params: URLSearchParams
  authorization?: string
}

export interface SentryFakeOptions {
  org: string
  projects: Array<{id: number; slug: string}>
  token: string
  /** false: intervals below one hour are refused, as on Sentry versions without minute resolution */
  minuteResolution?: boolean
  /** the fake's clock, for statsPeriod and "now" */
  now?: () => number
}

export interface SentryFake {
  url: string
  requests: FakeRequest[]
  /** records sessions that started at `at` (epoch ms) */
  addSessions(release: string, at: number, counts: SessionCounts, options?: {project?: number; environment?: string}): void
  /** the next `times` requests are answered with this status and body */
  failNext(status: number, body: unknown, times?: number): void
  /** answer crash_free_rate as null even where sessions exist (Sentry does so for some ranges) */
  nullRates: boolean
  close(): Promise<void>
}

const FIELDS = ['sum(session)', 'crash_free_rate(session)', 'crash_rate(session)'] as const
type Field = (typeof FIELDS)[number]
const GROUP_BY = ['release', 'project', 'environment', 'session.status'] as const
const HOUR = 3_600_000
const MINUTE = 60_000
const DAY = 24 * HOUR

function parsePeriod(text: string): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(text)
  if (!match) return undefined
  const unit = {s: 1000, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY}[match[2] as 's' | 'm' | 'h' | 'd' | 'w']
  return Number(match[1]) * unit
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail)
  }
}

/** release:"a" OR release:b → the releases; anything else is refused, as Sentry refuses what it cannot parse. */
function releasesIn(query: string): string[] | undefined {
  if (query.trim() === '') return undefined
  const releases: string[] = []
  for (const term of query.split(/\s+OR\s+/i)) {
    const match = /^release:(?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(term.trim())
    if (!match) throw new Refusal(400, `Invalid query: cannot filter sessions by ${JSON.stringify(term.trim())}`)
    releases.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] as string))
  }
  return releases
}

export async function startSentryFake(options: SentryFakeOptions): Promise<SentryFake> {
  const buckets: Bucket[] = []
  const failures: Array<{status: number; body: unknown}> = []
  const now = options.now ?? Date.now

  const fake: SentryFake = {
    url: '',
    requests: [],
    nullRates: false,
    addSessions(release, at, counts, extra = {}) {
      buckets.push({
        release,
        at,
        project: extra.project ?? (options.projects[0]?.id as number),
        environment: extra.environment ?? 'production',
        healthy: counts.healthy ?? 0,
        errored: counts.errored ?? 0,
        crashed: counts.crashed ?? 0,
        abnormal: counts.abnormal ?? 0,
      })
    },
    failNext(status, body, times = 1) {
      for (let i = 0; i < times; i++) failures.push({status, body})
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }

  const answer = (path: string, params: URLSearchParams, authorization: string | undefined): unknown => {
    const match = /^\/api\/0\/organizations\/([^/]+)\/sessions\/$/.exec(path)
    if (!match) throw new Refusal(404, 'The requested resource does not exist')
    if (!authorization) throw new Refusal(401, 'Authentication credentials were not provided.')
    if (authorization !== `Bearer ${options.token}`) throw new Refusal(401, 'Invalid token')
    if (decodeURIComponent(match[1] as string) !== options.org) throw new Refusal(404, 'The requested resource does not exist')

    const ids = params.getAll('project').map(Number)
    const slugs = params.getAll('projectSlug')
    if (ids.length > 0 && slugs.length > 0) throw new Refusal(400, 'Cannot query for both ids and slugs')
    let projects = options.projects
    if (slugs.length > 0) {
      if (slugs.some((s) => !options.projects.some((p) => p.slug === s))) throw new Refusal(403, 'You do not have permission to perform this action.')
      projects = options.projects.filter((p) => slugs.includes(p.slug))
    } else if (ids.length > 0 && !ids.includes(-1)) {
      if (ids.some((id) => !options.projects.some((p) => p.id === id))) throw new Refusal(403, 'You do not have permission to perform this action.')
      projects = options.projects.filter((p) => ids.includes(p.id))
    }

    const fields = params.getAll('field')
    if (fields.length === 0) throw new Refusal(400, 'Request is missing a "field"')
    for (const f of fields) if (!FIELDS.includes(f as Field)) throw new Refusal(400, `Invalid field: "${f}"`)
    const groupBy = params.getAll('groupBy')
    for (const g of groupBy) if (!GROUP_BY.includes(g as (typeof GROUP_BY)[number])) throw new Refusal(400, `Invalid groupBy: "${g}"`)
    if (groupBy.includes('session.status') && fields.some((f) => f.includes('crash'))) {
      throw new Refusal(400, 'Cannot use session.status with crash_rate or crash_free_rate')
    }

    const interval = parsePeriod(params.get('interval') ?? '1h')
    if (interval === undefined) throw new Refusal(400, `Invalid interval: "${params.get('interval')}"`)
    const smallest = options.minuteResolution === false ? HOUR : MINUTE
    if (interval % smallest !== 0 || interval < smallest) {
      throw new Refusal(400, `The interval has to be a multiple of the minimum interval of ${smallest === HOUR ? 'one hour' : 'one minute'}.`)
    }
    if (interval > DAY) throw new Refusal(400, 'The interval has to be less than one day.')
    if (DAY % interval !== 0) throw new Refusal(400, 'The interval should divide one day without a remainder.')

    let start: number
    let end: number
    const period = params.get('statsPeriod')
    if (period) {
      const ms = parsePeriod(period)
      if (ms === undefined) throw new Refusal(400, `Invalid statsPeriod: "${period}"`)
      end = now()
      start = end - ms
    } else if (params.get('start') && params.get('end')) {
      start = Date.parse(params.get('start') as string)
      // an explicit end is inclusive
      end = Date.parse(params.get('end') as string) + 1000
      if (Number.isNaN(start) || Number.isNaN(end)) throw new Refusal(400, 'start and end must be ISO-8601 dates')
    } else {
      end = now()
      start = end - 90 * DAY
    }
    start = Math.floor(start / interval) * interval
    end = Math.ceil(end / interval) * interval

    const releases = releasesIn(params.get('query') ?? '')
    const inRange = buckets.filter(
      (b) => b.at >= start && b.at < end && projects.some((p) => p.id === b.project) && (!releases || releases.includes(b.release)),
    )
    const intervals: number[] = []
    for (let t = start; t < end; t += interval) intervals.push(t)

    const keyOf = (b: Bucket): Record<string, string> =>
      Object.fromEntries(groupBy.map((g) => [g, g === 'project' ? String(b.project) : g === 'environment' ? b.environment : b.release]))
    const groups = new Map<string, {by: Record<string, string>; members: Bucket[]}>()
    for (const b of inRange) {
      const by = keyOf(b)
      const key = JSON.stringify(by)
      const group = groups.get(key) ?? {by, members: []}
      group.members.push(b)
      groups.set(key, group)
    }
    if (groupBy.length === 0 && groups.size === 0) groups.set('{}', {by: {}, members: []})

    const valueOf = (field: string, members: Bucket[]): number | null => {
      const total = members.reduce((n, b) => n + b.healthy + b.errored + b.crashed + b.abnormal, 0)
      const crashed = members.reduce((n, b) => n + b.crashed, 0)
      if (field === 'sum(session)') return total
      if (total === 0 || fake.nullRates) return null
      return field === 'crash_free_rate(session)' ? 1 - crashed / total : crashed / total
    }
    return {
      start: new Date(start).toISOString().replace('.000Z', 'Z'),
      end: new Date(end).toISOString().replace('.000Z', 'Z'),
      intervals: intervals.map((t) => new Date(t).toISOString().replace('.000Z', 'Z')),
      groups: [...groups.values()].map(({by, members}) => ({
        by,
        totals: Object.fromEntries(fields.map((f) => [f, valueOf(f, members)])),
        series: Object.fromEntries(fields.map((f) => [f, intervals.map((t) => valueOf(f, members.filter((b) => b.at >= t && b.at < t + interval)))])),
      })),
      query: params.get('query') ?? '',
    }
  }

  const server: Server = createServer((req, res) => {
    req.resume()
    const url = new URL(req.url ?? '/', 'http://sentry.invalid')
    const authorization = req.headers.authorization
    fake.requests.push({path: url.pathname, params: url.searchParams, authorization})
    const send = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, {'content-type': typeof body === 'string' ? 'text/html' : 'application/json'}).end(text)
    }
    const failure = failures.shift()
    if (failure) return send(failure.status, failure.body)
    if (req.method !== 'GET') return send(405, {detail: `Method "${req.method}" not allowed.`})
    try {
      send(200, answer(url.pathname, url.searchParams, authorization))
    } catch (error) {
      if (error instanceof Refusal) send(error.status, {detail: error.message})
      else send(500, {detail: 'Internal Error'})
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}
