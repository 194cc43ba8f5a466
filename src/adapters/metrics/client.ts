// The HTTP client a metric source reads its API with: axios loaded lazily,
// raw text bodies (each source parses its own), statuses left to the caller,
// no proxy from the environment, TLS checks per --insecure, bearer token if any.
import type {AxiosInstance} from 'axios'

import {bounded, sizeLimits} from '../http-limits.js'
import {httpsAgent} from '../tls.js'

export function textClient(options: {url: string; timeoutMs: number; token?: string; headers?: Record<string, string>}): Promise<AxiosInstance> {
  return import('axios').then(({default: axios}) =>
    bounded(axios.create({
      baseURL: options.url.endsWith('/') ? options.url : `${options.url}/`,
      timeout: options.timeoutMs,
      ...sizeLimits(),
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      proxy: false,
      httpsAgent: httpsAgent(),
      headers: {accept: 'application/json', ...options.headers, ...(options.token ? {authorization: `Bearer ${options.token}`} : {})},
    }), options.timeoutMs),
  )
}

/** A body axios left as text (responseType text), parsed; undefined when it is not JSON. */
export function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
