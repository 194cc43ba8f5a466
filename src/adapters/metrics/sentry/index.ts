// A metric source that reads Sentry release health: the crash-free session rate
// and the session count of one release over the measurement's window.
import type {AxiosInstance, AxiosResponse} from 'axios'
import type {SentrySourceConfig} from '../../../core/config/model.js'
import {MetricError} from '../../../core/errors.js'
import type {MeasureRequest, Measurement, MetricSource} from '../../../core/ports.js'
import {displayUrl, fillQuery, transportProblem} from '../query-vars.js'
import {parseJson, textClient} from '../client.js'

const CRASH_FREE = 'crash_free_rate(session)'
const SESSIONS = 'sum(session)'
/** the finest resolution asked for; older Sentry versions allow one hour only */
const FINE_INTERVAL = '1m'

interface SessionsAnswer {
  start?: string
  end?: string
  groups?: Array<{by?: Record<string, unknown>; totals?: Record<string, unknown>}>
}

export class SentrySource implements MetricSource {
  readonly type = 'sentry'
  private readonly where: string
  private client?: Promise<AxiosInstance>
  /** false once Sentry refused minute resolution: ask with its default interval from then on */
  private fineInterval = true

  constructor(private readonly config: SentrySourceConfig) {
    this.where = `Sentry at ${displayUrl(config.url)}`
  }

  async measure(req: MeasureRequest): Promise<Measurement> {
    if (req.check.release === undefined) {
      throw new MetricError(`Check ${req.check.name} needs release (for example "{version}") to read from Sentry.`, {permanent: true})
    }
    const release = fillQuery(req.check.release, req)
    const start = new Date(req.at - req.windowMs).toISOString()
    const end = new Date(req.at).toISOString()
    const path = `api/0/organizations/${encodeURIComponent(this.config.org)}/sessions/`

    let params = this.params(release, start, end)
    let response = await this.get(path, params, req.signal)
    if (response.status === 400 && this.fineInterval && /interval/i.test(detailOf(response.data) ?? '')) {
      this.fineInterval = false
      params = this.params(release, start, end)
      response = await this.get(path, params, req.signal)
    }
    const query = `GET /${path}?${params.toString()}`
    if (response.status < 200 || response.status >= 300) throw this.httpProblem(response, req, release)

    const answer = parseJson(response.data) as SessionsAnswer | undefined
    if (!answer || typeof answer !== 'object' || !Array.isArray(answer.groups)) {
      throw new MetricError(`${this.where} answered the sessions query with something that is not a release-health response; check the source's url.`, {permanent: true})
    }
    const group = groupOf(answer.groups, release)
    const crashFree = numberOrNull(group?.totals?.[CRASH_FREE])
    const sessions = group ? numberOrNull(group.totals?.[SESSIONS]) : 0
    return {
      value: crashFree,
      samples: sessions,
      raw: {release, start, end, answeredStart: answer.start ?? null, answeredEnd: answer.end ?? null, crashFreeRate: crashFree, sessions},
      query,
    }
  }

  private params(release: string, start: string, end: string): URLSearchParams {
    const params = new URLSearchParams()
    params.append('field', CRASH_FREE)
    params.append('field', SESSIONS)
    params.set('groupBy', 'release')
    params.set('query', `release:"${release.replace(/(["\\])/g, '\\$1')}"`)
    if (/^-?\d+$/.test(this.config.project)) params.set('project', this.config.project)
    else params.set('projectSlug', this.config.project)
    params.set('start', start)
    params.set('end', end)
    if (this.fineInterval) params.set('interval', FINE_INTERVAL)
    return params
  }

  private async get(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<AxiosResponse<string>> {
    const client = await this.axios()
    try {
      return await client.get<string>(`${path}?${params.toString()}`, {signal})
    } catch (error) {
      // no cause attached: axios errors carry the request headers, token included
      throw new MetricError(`Cannot reach ${this.where}: ${transportProblem(error, this.config.timeoutMs)}.`)
    }
  }

  private httpProblem(response: AxiosResponse<string>, req: MeasureRequest, release: string): MetricError {
    const {status} = response
    const detail = detailOf(response.data)
    const said = detail ? `: ${detail}` : ''
    switch (status) {
      case 400:
        return new MetricError(`${this.where} rejected the sessions query for release ${release} (HTTP 400${said}); check check ${req.check.name} and the source's project.`, {permanent: true})
      case 401:
        return new MetricError(`${this.where} refused the token (HTTP 401${said}); set the source's token to a Sentry auth token with org:read.`, {permanent: true})
      case 403:
        return new MetricError(`${this.where} denied access to project ${this.config.project} (HTTP 403${said}); check the project and the token's scopes.`, {permanent: true})
      case 404:
        return new MetricError(`${this.where} has no organization ${this.config.org} (HTTP 404); check the source's org and url.`, {permanent: true})
    }
    if (status === 429 || status >= 500) return new MetricError(`${this.where} answered HTTP ${status}${said}.`)
    return new MetricError(`${this.where} answered HTTP ${status}${said} to the sessions query.`, {permanent: true})
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= textClient({url: this.config.url, timeoutMs: this.config.timeoutMs, token: this.config.token})
    return this.client
  }
}

type Group = NonNullable<SessionsAnswer['groups']>[number]

/** The release's group; an answer not grouped by release (one group, no release in `by`) is already filtered to it by the query. */
function groupOf(groups: Group[], release: string): Group | undefined {
  const named = groups.find((g) => g.by?.release === release)
  if (named) return named
  const [only] = groups
  return groups.length === 1 && only?.by?.release === undefined ? only : undefined
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' ? value : null
}

function detailOf(text: unknown): string | undefined {
  const body = parseJson(text) as {detail?: unknown} | undefined
  return body && typeof body.detail === 'string' ? body.detail : undefined
}
