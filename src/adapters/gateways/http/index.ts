// The generic HTTP gateway: PUTs the versioned policy document (gray.dev/v1,
// docs/policy-document.md) to a control plane and GETs it back. For gateways
// whose own control plane does the routing.
import type {AxiosResponse} from 'axios'
import type {HttpGatewayConfig} from '../../../core/config/model.js'
import {errorMessage, GatewayError} from '../../../core/errors.js'
import {fromDocument, toDocument} from '../../../core/policy/document.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {fillTemplate} from '../../../core/template.js'
import {gatewayCapabilities} from '../capabilities.js'
import {ControlPlane} from '../control-plane.js'
import {assertPublishesFor, DEFAULT_RETRY, pause, withRetry, type RetryOptions} from '../retry.js'

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
  private readonly plane: ControlPlane

  constructor(
    private readonly config: HttpGatewayConfig,
    private readonly service: string,
    timings: Partial<HttpTimings> = {},
  ) {
    this.url = fillTemplate(config.url, {service: encodeURIComponent(service)})
    const parsed = new URL(this.url)
    this.shownUrl = `${parsed.origin}${parsed.pathname}`
    this.timings = {...DEFAULT_TIMINGS, ...timings}
    this.plane = new ControlPlane({
      peer: `The control plane at ${this.shownUrl}`,
      timeoutMs: this.timings.requestTimeoutMs,
      headers: config.token ? {authorization: `Bearer ${config.token}`} : {},
      authHint: 'Check gateway.token.',
    })
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
    await this.withRetry(async () => this.expectOk(await this.plane.request('put', this.url, document, signal), 'accept the policy'), signal)
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
      const response = await this.plane.request('get', this.url, undefined, signal)
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

  private expectOk(response: AxiosResponse, action: string): void {
    this.plane.expectOk(response, action, (response.data as {error?: unknown} | null | undefined)?.error)
  }
}
