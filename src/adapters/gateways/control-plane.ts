// The one HTTP client of the gateways with a control plane (http, APISIX,
// ShenYu, the BFE API server): a total deadline and a size cap on every call
// (src/adapters/http-limits.ts), the credential in a header that no message
// carries, and the same words for a peer that does not answer, answers too
// much or refuses. Each gateway names its peer and says where its credential is.
import type {AxiosInstance, AxiosResponse} from 'axios'
import {GatewayError} from '../../core/errors.js'
import {escapeControls, registerSecrets} from '../../core/redact.js'
import {bounded, sizeLimits, tooLarge} from '../http-limits.js'
import {certificateProblem, httpsAgent} from '../tls.js'
import {permanentStatus} from './retry.js'

export interface ControlPlaneOptions {
  /** the peer in messages, with its address: "The control plane at http://cp/policy" */
  peer: string
  /** the peer when it refuses: "APISIX"; default `peer` */
  refuser?: string
  baseURL?: string
  timeoutMs: number
  /** sent on every call; the credential among them never reaches a message */
  headers?: Record<string, string>
  /** values to mask wherever gray writes (a key read from the environment) */
  secrets?: string[]
  /** what a 401 or 403 adds: " Check gateway.token." */
  authHint?: string
  /** the key that holds the address, for "check gateway.url" */
  urlKey?: string
}

export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete'

/** At most this much of a peer's own words goes into a message, its controls escaped. */
export function peerWords(text: string): string {
  return escapeControls(text.replace(/\s+/g, ' ').trim().slice(0, 300))
}

export class ControlPlane {
  private client?: Promise<AxiosInstance>

  constructor(private readonly options: ControlPlaneOptions) {
    if (options.secrets?.length) registerSecrets(options.secrets)
  }

  /** Any HTTP answer resolves (check it with expectOk); a transport failure throws a GatewayError in this client's words. */
  async request(method: Method, url: string, data?: unknown, signal?: AbortSignal, headers?: Record<string, string>): Promise<AxiosResponse> {
    const client = await this.axios()
    try {
      return await client.request({method, url, data, signal, ...(headers ? {headers} : {})})
    } catch (error) {
      // the axios error carries the request headers (the credential): keep only its code
      throw this.transportError((error as {code?: string}).code)
    }
  }

  /** Throws unless `response` is a 2xx: "<refuser> did not <action> (HTTP n). It said: … <auth hint>". */
  expectOk(response: AxiosResponse, action: string, said?: unknown): void {
    if (response.status >= 200 && response.status < 300) return
    const words = typeof said === 'string' ? ` It said: ${peerWords(said)}` : ''
    const hint = (response.status === 401 || response.status === 403) && this.options.authHint ? ` ${this.options.authHint}` : ''
    throw new GatewayError(`${this.options.refuser ?? this.options.peer} did not ${action} (HTTP ${response.status}).${words}${hint}`, {
      permanent: permanentStatus(response.status),
    })
  }

  transportError(code: string | undefined): GatewayError {
    const {peer, timeoutMs} = this.options
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return new GatewayError(`${peer} did not answer within ${timeoutMs / 1000} s.`)
    if (code === 'ERR_CANCELED') return new GatewayError(`The request to ${lowerFirst(peer)} was cancelled.`)
    if (code === 'ERR_ANSWER_TOO_LARGE') return new GatewayError(`${peer} sent ${tooLarge()}.`)
    return new GatewayError(`${peer} could not be reached: ${certificateProblem(code) ?? `${code ?? 'network error'}; check ${this.options.urlKey ?? 'gateway.url'}`}.`)
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= import('axios').then(({default: axios}) =>
      bounded(
        axios.create({
          ...(this.options.baseURL ? {baseURL: this.options.baseURL.replace(/\/+$/, '')} : {}),
          timeout: this.options.timeoutMs,
          ...sizeLimits(),
          validateStatus: () => true,
          proxy: false,
          httpsAgent: httpsAgent(),
          headers: {accept: 'application/json', 'content-type': 'application/json', ...this.options.headers},
        }),
        this.options.timeoutMs,
      ),
    )
    return this.client
  }
}

function lowerFirst(text: string): string {
  return text.startsWith('The ') ? `the ${text.slice(4)}` : text
}
