// The generic HTTP gateway: PUTs the versioned policy document (gray.dev/v1,
// docs/policy-document.md) to a control plane and GETs it back. For gateways
// whose own control plane does the routing.
import type {AxiosInstance, AxiosResponse} from 'axios'
import type {HttpGatewayConfig} from '../../../core/config/model.js'
import {errorMessage, GatewayError} from '../../../core/errors.js'
import {fromDocument, toDocument} from '../../../core/policy/document.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {fillTemplate} from '../../../core/template.js'
import {gatewayCapabilities} from '../capabilities.js'
import {assertPublishesFor, DEFAULT_RETRY, pause, permanentStatus, withRetry, type RetryOptions} from '../retry.js'
import {bounded, sizeLimits, tooLarge} from '../../http-limits.js'
import {httpsAgent} from '../../tls.js'
import {certificateProblem} from '../../tls.js'

export interface HttpTimings {
  requestTimeoutMs: number
  retry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>
  /** how long to wait for the control plane to serve a revision it accepted */
  confirmTimeoutMs: number
  confirmIntervalMs: number
}

const DEFAULT_TIMINGS: HttpTimings = {requestTimeoutMs: 5000, retry: DEFAULT_RETRY, confirmTimeoutMs: 10_000, confirmIntervalMs: 200}

export class HttpGateway implements Gateway {
  readonly type = 'http'
  private readonly url: string
  /** the URL as messages show it: no credentials, no query */
  private readonly shownUrl: string
  private readonly timings: HttpTimings
  private client?: Promise<AxiosInstance>

  constructor(
    private readonly config: HttpGatewayConfig,
    private readonly service: string,
    timings: Partial<HttpTimings> = {},
  ) {
    this.url = fillTemplate(config.url, {service: encodeURIComponent(service)})
    const parsed = new URL(this.url)
    this.shownUrl = `${parsed.origin}${parsed.pathname}`
    this.timings = {...DEFAULT_TIMINGS, ...timings}
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('http')
  }

  render(policy: Policy): string {
    return JSON.stringify(toDocument(policy), null, 2)
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const document = toDocument(policy)
    await this.withRetry(async () => this.expectOk(await this.request('put', document, signal), 'accept the policy'), signal)
    const deadline = Date.now() + this.timings.confirmTimeoutMs
    for (;;) {
      const served = await this.readBack(signal)
      if (served?.revision === policy.revision) return served
      if (signal?.aborted || Date.now() >= deadline) {
        throw new GatewayError(
          `The control plane at ${this.shownUrl} accepted revision ${policy.revision} but serves ${served ? `revision ${served.revision}` : 'nothing'}; another publisher may be writing to it.`,
        )
      }
      await pause(this.timings.confirmIntervalMs, signal)
    }
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    return this.withRetry(async () => {
      const response = await this.request('get', undefined, signal)
      if (response.status === 404) return null
      this.expectOk(response, 'serve the policy')
      let policy: Policy
      try {
        policy = fromDocument(typeof response.data === 'string' ? JSON.parse(response.data) : response.data)
      } catch (error) {
        throw new GatewayError(`The control plane at ${this.shownUrl} served something that is not a ${'gray.dev/v1'} policy document: ${errorMessage(error)}`, {permanent: true})
      }
      if (policy.service !== this.service) {
        throw new GatewayError(`The control plane at ${this.shownUrl} serves the policy of "${policy.service}", not "${this.service}"; give each service its own URL (use {service}).`, {permanent: true})
      }
      return {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
    }, signal)
  }

  private withRetry<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(task, {...this.timings.retry, signal})
  }

  private async request(method: 'get' | 'put', data: unknown, signal?: AbortSignal): Promise<AxiosResponse> {
    const client = await this.axios()
    try {
      return await client.request({method, url: this.url, data, signal})
    } catch (error) {
      // the axios error carries the request headers (the token): keep only its code
      throw this.transportError((error as {code?: string}).code)
    }
  }

  private expectOk(response: AxiosResponse, action: string): void {
    if (response.status >= 200 && response.status < 300) return
    const said = typeof response.data?.error === 'string' ? ` It said: ${String(response.data.error).slice(0, 300)}` : ''
    const hint = response.status === 401 || response.status === 403 ? ' Check gateway.token.' : ''
    throw new GatewayError(`The control plane at ${this.shownUrl} did not ${action} (HTTP ${response.status}).${said}${hint}`, {
      permanent: permanentStatus(response.status),
    })
  }

  private transportError(code: string | undefined): GatewayError {
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new GatewayError(`The control plane at ${this.shownUrl} did not answer within ${this.timings.requestTimeoutMs / 1000} s.`)
    }
    if (code === 'ERR_CANCELED') return new GatewayError(`The request to the control plane at ${this.shownUrl} was cancelled.`)
    if (code === 'ERR_ANSWER_TOO_LARGE') return new GatewayError(`The control plane at ${this.shownUrl} sent ${tooLarge()}.`)
    return new GatewayError(`The control plane at ${this.shownUrl} could not be reached: ${certificateProblem(code) ?? `${code ?? 'network error'}; check gateway.url`}.`)
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= import('axios').then(({default: axios}) =>
      bounded(axios.create({
        timeout: this.timings.requestTimeoutMs,
        ...sizeLimits(),
        validateStatus: () => true,
        proxy: false,
        httpsAgent: httpsAgent(),
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          ...(this.config.token ? {authorization: `Bearer ${this.config.token}`} : {}),
        },
      }), this.timings.requestTimeoutMs),
    )
    return this.client
  }
}
