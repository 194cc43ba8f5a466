// Reading Prometheus' /api/v1/query answers: one number (or none) per query.
import {MetricError} from '../../../core/errors.js'

/** A sample value as Prometheus writes it: "1.5", "NaN", "+Inf", "-Inf". */
export function parseSampleValue(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined
  switch (text) {
    case 'NaN':
      return Number.NaN
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY
    case '-Inf':
      return Number.NEGATIVE_INFINITY
  }
  if (text.trim() === '') return undefined
  const value = Number(text)
  return Number.isNaN(value) ? undefined : value
}

export interface InstantValue {
  /** undefined: the query returned an empty vector (no data) */
  value: number | undefined
  /** the value as Prometheus wrote it, for the journal */
  text: string | null
  warnings?: string[]
}

interface SuccessBody {
  status: 'success'
  data: {resultType: string; result: unknown}
  warnings?: unknown
}

export interface ErrorBody {
  status: 'error'
  errorType?: string
  error?: string
}

export function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && (body as {status?: unknown}).status === 'error'
}

function isSuccessBody(body: unknown): body is SuccessBody {
  if (typeof body !== 'object' || body === null) return false
  const {status, data} = body as {status?: unknown; data?: unknown}
  return status === 'success' && typeof data === 'object' && data !== null && typeof (data as {resultType?: unknown}).resultType === 'string'
}

function labelsOf(metric: unknown): string {
  if (typeof metric !== 'object' || metric === null) return '{}'
  return `{${Object.entries(metric as Record<string, string>).map(([k, v]) => `${k}="${v}"`).join(', ')}}`
}

/**
 * The one number a successful answer holds. Throws a permanent MetricError for
 * answers a gate cannot use whatever happens next: several series, a range
 * vector, a string.
 */
export function valueOfAnswer(body: unknown, query: string, where: string): InstantValue {
  if (!isSuccessBody(body)) throw new MetricError(`${where} answered the query ${query} with something that is not a Prometheus API response; check that the URL points at Prometheus.`, {permanent: true})
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : undefined
  const {resultType, result} = body.data
  const sample = (pair: unknown): InstantValue => {
    const text = Array.isArray(pair) ? pair[1] : undefined
    const value = parseSampleValue(text)
    if (value === undefined) throw new MetricError(`${where} returned the unreadable sample value ${JSON.stringify(text)} for the query ${query}.`, {permanent: true})
    return {value, text: text as string, warnings}
  }
  switch (resultType) {
    case 'vector': {
      const series = Array.isArray(result) ? (result as Array<{metric?: unknown; value?: unknown}>) : []
      if (series.length === 0) return {value: undefined, text: null, warnings}
      if (series.length > 1) {
        throw new MetricError(
          `The query ${query} returns ${series.length} series (${labelsOf(series[0]?.metric)} and more), but a gate needs one number; aggregate it, for example with sum(...).`,
          {permanent: true},
        )
      }
      return sample(series[0]?.value)
    }
    case 'scalar':
      return sample(result)
    case 'matrix':
      throw new MetricError(`The query ${query} returns a range vector, but a gate needs one number; wrap the [range] selector in a function such as increase(...) or rate(...) and aggregate with sum(...).`, {
        permanent: true,
      })
    default:
      throw new MetricError(`The query ${query} returns a ${resultType}, but a gate needs one number.`, {permanent: true})
  }
}

/**
 * A histogram's buckets from a vector answer: one series per `le` label, each a cumulative
 * count. An empty answer is no data (undefined). Throws a permanent MetricError for an
 * answer that is not such a vector.
 */
export function bucketsOfAnswer(body: unknown, query: string, where: string): {buckets: Array<{le: number; count: number}> | undefined; warnings?: string[]} {
  if (!isSuccessBody(body)) throw new MetricError(`${where} answered the query ${query} with something that is not a Prometheus API response; check that the URL points at Prometheus.`, {permanent: true})
  const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : undefined
  const {resultType, result} = body.data
  if (resultType !== 'vector') throw new MetricError(`The histogram query ${query} returns a ${resultType}, but a histogram check needs one series per bucket bound: sum by (le) (increase(x_bucket[{window}])).`, {permanent: true})
  const series = Array.isArray(result) ? (result as Array<{metric?: Record<string, unknown>; value?: unknown}>) : []
  if (series.length === 0) return {buckets: undefined, warnings}
  const buckets = series.map((s) => {
    const le = parseSampleValue(s.metric?.le)
    const text = Array.isArray(s.value) ? s.value[1] : undefined
    const count = parseSampleValue(text)
    if (le === undefined || Number.isNaN(le)) {
      throw new MetricError(`The histogram query ${query} returns a series without an le label (${labelsOf(s.metric)}); aggregate it with sum by (le) (...).`, {permanent: true})
    }
    if (count === undefined) throw new MetricError(`${where} returned the unreadable sample value ${JSON.stringify(text)} for the query ${query}.`, {permanent: true})
    return {le, count}
  })
  buckets.sort((a, b) => a.le - b.le)
  if (new Set(buckets.map((b) => b.le)).size !== buckets.length) {
    throw new MetricError(`The histogram query ${query} returns several series for one le; aggregate it with sum by (le) (...).`, {permanent: true})
  }
  return {buckets, warnings}
}
