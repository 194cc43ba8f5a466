// The APISIX gateway over its Admin API: gray owns the route's traffic-split
// plugin and three labels; every other field of the route is kept as read.
// The Admin API has no conditional PUT, so gray re-reads the route just before
// writing and starts over when its modifiedIndex moved, then reads back.
import type {AxiosResponse} from 'axios'
import type {ApisixGatewayConfig} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {assertPublishesFor, withRetry, type RetryOptions} from '../retry.js'
import {appliedFrom, labelsOf, trafficSplitOf} from './traffic-split.js'
import {ControlPlane} from '../control-plane.js'

export const KEY_ENV = 'APISIX_ADMIN_KEY'
const PLUGIN = 'traffic-split'

export interface ApisixTimings {
  requestTimeoutMs: number
  retry: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>
}

const DEFAULT_TIMINGS: ApisixTimings = {requestTimeoutMs: 5000, retry: {attempts: 5, baseDelayMs: 200, maxDelayMs: 3000}}

interface StoredRoute {
  value: Record<string, unknown>
  modifiedIndex: number | undefined
}

export class ApisixGateway implements Gateway {
  readonly type = 'apisix'
  private readonly timings: ApisixTimings
  private readonly routePath: string
  private readonly plane: ControlPlane

  constructor(
    private readonly config: ApisixGatewayConfig,
    private readonly service: string,
    timings: Partial<ApisixTimings> = {},
  ) {
    this.timings = {...DEFAULT_TIMINGS, ...timings}
    this.routePath = `/apisix/admin/routes/${encodeURIComponent(config.routeId)}`
    const key = config.key ?? process.env[KEY_ENV]
    this.plane = new ControlPlane({
      peer: `The APISIX Admin API at ${config.url}`,
      refuser: 'APISIX',
      baseURL: config.url,
      timeoutMs: this.timings.requestTimeoutMs,
      headers: key ? {'X-API-KEY': key} : {},
      secrets: key ? [key] : [],
      authHint: `Check gateway.key (or ${KEY_ENV}).`,
    })
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('apisix')
  }

  render(policy: Policy): string {
    return JSON.stringify({labels: labelsOf(policy), plugins: {[PLUGIN]: trafficSplitOf(policy)}}, null, 2)
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const split = trafficSplitOf(policy)
    const labels = labelsOf(policy)
    return withRetry(
      async () => {
        const read = await this.route(signal)
        const value = {...read.value}
        delete value.update_time
        value.plugins = {...asRecord(read.value.plugins), [PLUGIN]: split}
        value.labels = {...asRecord(read.value.labels), ...labels}
        // another writer between our read and our write would be overwritten: re-read first
        const again = await this.route(signal)
        if (again.modifiedIndex !== read.modifiedIndex) throw this.conflict(policy.revision)
        this.expectOk(await this.request('put', value, signal), 'accept the route')
        const served = appliedOf(await this.route(signal))
        if (served?.revision !== policy.revision) throw this.conflict(policy.revision)
        return served
      },
      {...this.timings.retry, signal},
    )
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    return withRetry(
      async () => {
        const response = await this.request('get', undefined, signal)
        if (response.status === 404) return null
        return appliedOf(this.stored(response))
      },
      {...this.timings.retry, signal},
    )
  }

  private async route(signal?: AbortSignal): Promise<StoredRoute> {
    const response = await this.request('get', undefined, signal)
    if (response.status === 404) {
      throw new GatewayError(`APISIX has no route ${this.config.routeId}; create the route for ${this.service} first, gray only sets its traffic-split plugin.`, {permanent: true})
    }
    return this.stored(response)
  }

  private stored(response: AxiosResponse): StoredRoute {
    this.expectOk(response, 'return the route')
    const data = asRecord(response.data)
    const value = asRecord(data.value)
    if (Object.keys(value).length === 0) {
      throw new GatewayError(`APISIX at ${this.config.url} answered GET ${this.routePath} without a route in "value"; check gateway.url.`, {permanent: true})
    }
    return {value, modifiedIndex: typeof data.modifiedIndex === 'number' ? data.modifiedIndex : undefined}
  }

  private conflict(revision: string): GatewayError {
    return new GatewayError(`Another writer changed APISIX route ${this.config.routeId} while gray published revision ${revision}.`)
  }

  private request(method: 'get' | 'put', data: unknown, signal?: AbortSignal): Promise<AxiosResponse> {
    return this.plane.request(method, this.routePath, data, signal)
  }

  private expectOk(response: AxiosResponse, action: string): void {
    this.plane.expectOk(response, `${action} ${this.config.routeId}`, asRecord(response.data).error_msg)
  }
}

function appliedOf(route: StoredRoute): AppliedPolicy | null {
  if (!asRecord(route.value.plugins)[PLUGIN]) return null
  return appliedFrom(asRecord(route.value.labels))
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}
