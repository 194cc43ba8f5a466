// The sandbox gateway as gray's engine sees it: publish and read back policies
// through the sandbox's admin API.
import type {AxiosInstance, AxiosResponse} from 'axios'
import type {SandboxGatewayConfig} from '../../../core/config/model.js'
import {errorMessage, GatewayError} from '../../../core/errors.js'
import {fromDocument, toDocument} from '../../../core/policy/document.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {assertPublishesFor} from '../retry.js'
import {bounded, sizeLimits, tooLarge} from '../../http-limits.js'

const TIMEOUT_MS = 5000

export class SandboxGateway implements Gateway {
  readonly type = 'sandbox'
  private readonly adminUrl: string
  private client?: Promise<AxiosInstance>

  constructor(
    private readonly config: SandboxGatewayConfig,
    private readonly service: string,
  ) {
    this.adminUrl = `http://${config.admin}`
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('sandbox')
  }

  render(policy: Policy): string {
    return JSON.stringify(toDocument(policy), null, 2)
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const put = await this.request('put', policy, signal)
    this.expectOk(put, 'publish the policy')
    const served = await this.readBack(signal)
    if (!served || served.revision !== policy.revision) {
      throw new GatewayError(
        `The sandbox gateway at ${this.config.admin} serves revision ${served?.revision ?? 'none'} after publishing ${policy.revision}; another publisher may be writing to it.`,
      )
    }
    return served
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const response = await this.request('get', undefined, signal)
    if (response.status === 404) return null
    this.expectOk(response, 'read the served policy')
    let policy: Policy
    try {
      policy = fromDocument(response.data)
    } catch (error) {
      throw new GatewayError(`The sandbox gateway at ${this.config.admin} served an invalid policy: ${errorMessage(error)}`)
    }
    return {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
  }

  private policyPath(): string {
    return `/v1/policy/${encodeURIComponent(this.service)}`
  }

  private async request(method: 'get' | 'put', policy: Policy | undefined, signal?: AbortSignal): Promise<AxiosResponse> {
    const client = await this.axios()
    try {
      return await client.request({method, url: this.policyPath(), data: policy ? toDocument(policy) : undefined, signal})
    } catch (error) {
      throw this.transportError(error)
    }
  }

  private expectOk(response: AxiosResponse, action: string): void {
    if (response.status >= 200 && response.status < 300) return
    const said = typeof response.data?.error === 'string' ? ` ${String(response.data.error).slice(0, 300)}` : ''
    throw new GatewayError(`The sandbox gateway at ${this.config.admin} refused to ${action} (HTTP ${response.status}).${said}`, {
      permanent: response.status >= 400 && response.status < 500,
    })
  }

  private transportError(error: unknown): GatewayError {
    const code = (error as {code?: string}).code
    if (code === 'ECONNREFUSED') {
      return new GatewayError(
        `The sandbox gateway is not reachable at ${this.config.admin}; start it with \`gray sandbox --listen ${this.config.listen} --admin ${this.config.admin}\`.`,
        {cause: error},
      )
    }
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new GatewayError(`The sandbox gateway at ${this.config.admin} did not answer within ${TIMEOUT_MS / 1000} s.`, {cause: error})
    }
    if (code === 'ERR_ANSWER_TOO_LARGE') return new GatewayError(`The sandbox gateway at ${this.config.admin} sent ${tooLarge()}.`)
    if (code === 'ERR_CANCELED') return new GatewayError(`The request to the sandbox gateway at ${this.config.admin} was cancelled.`, {cause: error})
    return new GatewayError(`The sandbox gateway at ${this.config.admin} could not be reached: ${errorMessage(error)}.`, {cause: error})
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= import('axios').then(({default: axios}) =>
      bounded(axios.create({baseURL: this.adminUrl, timeout: TIMEOUT_MS, validateStatus: () => true, proxy: false, ...sizeLimits()}), TIMEOUT_MS),
    )
    return this.client
  }
}
