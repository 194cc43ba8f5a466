// Bounds on every HTTP call gray makes (docs/gateways.md, docs/metrics.md):
// a TOTAL deadline per request — connect, headers and the whole body — not
// just axios's idle timer, which a peer trickling one byte a second never
// trips; and a cap on the size of an answer, so a huge one is refused while it
// streams in instead of being buffered whole.
import type {AxiosInstance, InternalAxiosRequestConfig} from 'axios'

/** gateway control planes, Prometheus, Sentry, webhooks: their answers are small JSON documents */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024
/** a scraped /metrics page may hold many series */
export const MAX_SCRAPE_BYTES = 16 * 1024 * 1024

/** the axios options that cap sizes: answers and bodies gray sends */
export function sizeLimits(maxBytes: number = MAX_ANSWER_BYTES): {maxContentLength: number; maxBodyLength: number} {
  return {maxContentLength: maxBytes, maxBodyLength: maxBytes}
}

const DEADLINE = Symbol('gray.deadline')
type WithDeadline = InternalAxiosRequestConfig & {[DEADLINE]?: AbortSignal}

/**
 * Gives every request of `client` a total deadline of `timeoutMs`: its signal
 * aborts then (or when the caller's own signal does). A request cut by the
 * deadline fails with code ETIMEDOUT, one that read more than the size cap
 * with code ERR_ANSWER_TOO_LARGE, so callers word them like any timeout.
 */
export function bounded(client: AxiosInstance, timeoutMs: number): AxiosInstance {
  client.interceptors.request.use((config: WithDeadline) => {
    const total = AbortSignal.timeout(timeoutMs)
    const own = config.signal as AbortSignal | undefined
    config.signal = own ? AbortSignal.any([own, total]) : total
    config[DEADLINE] = total
    return config
  })
  client.interceptors.response.use(undefined, (error: {code?: string; message?: string; config?: WithDeadline}) => {
    if (error?.config?.[DEADLINE]?.aborted && error.code === 'ERR_CANCELED') {
      error.code = 'ETIMEDOUT'
      error.message = `no complete answer within ${timeoutMs} ms`
    } else if (/maxContentLength|maxBodyLength/.test(error?.message ?? '')) {
      error.code = 'ERR_ANSWER_TOO_LARGE'
    }
    return Promise.reject(error)
  })
  return client
}

/** "an answer larger than 4 MiB": the words for ERR_ANSWER_TOO_LARGE */
export function tooLarge(maxBytes: number = MAX_ANSWER_BYTES): string {
  return `an answer larger than ${maxBytes / 1024 / 1024} MiB, more than gray reads`
}
