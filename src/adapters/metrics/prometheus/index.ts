// A metric source that asks a Prometheus server: instant queries, evaluated at
// the measurement's own time, sent as a POST form (long queries fit, nothing in logs' URLs).
import type {AxiosInstance, AxiosResponse} from 'axios'
import type {PrometheusSourceConfig} from '../../../core/config/model.js'
import {MetricError} from '../../../core/errors.js'
import type {MeasureRequest, Measurement, MetricSource} from '../../../core/ports.js'
import {displayUrl, fillQuery, transportProblem} from '../query-vars.js'
import {bucketsOfAnswer, isErrorBody, valueOfAnswer, type InstantValue} from './result.js'
import {parseJson, textClient} from '../client.js'

/** Prometheus error types that mean the query itself is wrong: retrying cannot help. */
const QUERY_ERRORS = new Set(['bad_data', 'execution', 'not_found'])

export class PrometheusSource implements MetricSource {
  readonly type = 'prometheus'
  private readonly where: string
  private client?: Promise<AxiosInstance>

  constructor(private readonly config: PrometheusSourceConfig) {
    this.where = `Prometheus at ${displayUrl(config.url)}`
  }

  async measure(req: MeasureRequest): Promise<Measurement> {
    const {check} = req
    const evaluatedAt = new Date(req.at).toISOString()
    if (check.errors !== undefined && check.total !== undefined) {
      const errorsQuery = fillQuery(check.errors, req)
      const totalQuery = fillQuery(check.total, req)
      const [errors, total] = await Promise.all([this.instant(errorsQuery, req), this.instant(totalQuery, req)])
      return ratio(errors, total, {evaluatedAt, errorsQuery, totalQuery})
    }
    if (check.histogram !== undefined) {
      const query = fillQuery(check.histogram, req)
      const {buckets, warnings} = await this.histogram(query, req)
      const all = buckets?.find((b) => b.le === Number.POSITIVE_INFINITY)?.count
      const raw = {evaluatedAt, buckets: buckets?.map((b) => [Number.isFinite(b.le) ? b.le : '+Inf', b.count]) ?? null, ...(warnings ? {warnings} : {})}
      if (!buckets || all === undefined || !Number.isFinite(all)) return {value: null, samples: null, raw, query}
      return {value: null, samples: all, raw, query, buckets}
    }
    if (check.query !== undefined) {
      const query = fillQuery(check.query, req)
      const answer = await this.instant(query, req)
      const value = answer.value === undefined ? null : answer.value
      return {value, samples: null, raw: {evaluatedAt, value: rawNumber(answer), ...warningsOf(answer)}, query}
    }
    throw new MetricError(`Check ${check.name} needs errors and total, query or histogram, to read from Prometheus.`, {permanent: true})
  }

  /** One instant query at req.at. */
  private async instant(query: string, req: MeasureRequest): Promise<InstantValue> {
    return valueOfAnswer(await this.answer(query, req), query, this.where)
  }

  private async histogram(query: string, req: MeasureRequest): Promise<ReturnType<typeof bucketsOfAnswer>> {
    return bucketsOfAnswer(await this.answer(query, req), query, this.where)
  }

  /** The body of a successful instant query at req.at; throws a MetricError otherwise. */
  private async answer(query: string, req: MeasureRequest): Promise<unknown> {
    const client = await this.axios()
    const form = new URLSearchParams({query, time: (req.at / 1000).toFixed(3)})
    let response: AxiosResponse<string>
    try {
      response = await client.post<string>('api/v1/query', form.toString(), {signal: req.signal})
    } catch (error) {
      // no cause attached: axios errors carry the request headers, token included
      throw new MetricError(`Cannot reach ${this.where}: ${transportProblem(error, this.config.timeoutMs)}.`)
    }
    const body = parseJson(response.data)
    if (isErrorBody(body)) {
      const type = body.errorType ?? 'unknown'
      const said = body.error ?? 'no message'
      if (QUERY_ERRORS.has(type)) {
        throw new MetricError(`${this.where} rejected the query ${query} (${type}: ${said}); fix check ${req.check.name}'s query.`, {permanent: true})
      }
      // timeout, canceled, unavailable, internal: the server's trouble, worth another try
      throw new MetricError(`${this.where} could not answer the query ${query} now (${type}: ${said}).`)
    }
    if (response.status < 200 || response.status >= 300) throw this.httpProblem(response.status)
    return body
  }

  private httpProblem(status: number): MetricError {
    if (status === 401 || status === 403) {
      return new MetricError(`${this.where} refused the request with HTTP ${status}; check the source's token.`, {permanent: true})
    }
    if (status === 404) {
      return new MetricError(`${this.where} has no /api/v1/query (HTTP 404); check that the source's url points at Prometheus.`, {permanent: true})
    }
    if (status === 429 || status >= 500) return new MetricError(`${this.where} answered HTTP ${status}.`)
    return new MetricError(`${this.where} answered HTTP ${status} to an instant query.`, {permanent: true})
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= textClient({url: this.config.url, timeoutMs: this.config.timeoutMs, token: this.config.token, headers: {'content-type': 'application/x-www-form-urlencoded'}})
    return this.client
  }
}

/** A number for the journal: JSON has no NaN or Inf, so those stay as Prometheus wrote them. */
function rawNumber(answer: InstantValue): number | string | null {
  if (answer.value === undefined) return null
  return Number.isFinite(answer.value) ? answer.value : (answer.text ?? String(answer.value))
}

function warningsOf(...answers: InstantValue[]): {warnings?: string[]} {
  const warnings = answers.flatMap((a) => a.warnings ?? [])
  return warnings.length > 0 ? {warnings} : {}
}

/**
 * errors / total. An empty errors result with requests counted means none
 * failed (Prometheus has no series for a code that never happened); an empty
 * or zero total is no data; NaN or Inf anywhere stays NaN so it never passes.
 */
function ratio(errors: InstantValue, total: InstantValue, about: {evaluatedAt: string; errorsQuery: string; totalQuery: string}): Measurement {
  const raw = {
    evaluatedAt: about.evaluatedAt,
    errors: rawNumber(errors),
    total: rawNumber(total),
    queries: {errors: about.errorsQuery, total: about.totalQuery},
    ...warningsOf(errors, total),
  }
  const query = `${about.errorsQuery} / ${about.totalQuery}`
  if (total.value === undefined) return {value: null, samples: null, raw, query}
  if (!Number.isFinite(total.value)) return {value: Number.NaN, samples: null, raw, query}
  const errorCount = errors.value ?? 0
  if (!Number.isFinite(errorCount)) return {value: Number.NaN, samples: total.value, raw, query}
  if (total.value <= 0) return {value: null, samples: total.value, raw, query}
  return {value: errorCount / total.value, samples: total.value, raw, query}
}
