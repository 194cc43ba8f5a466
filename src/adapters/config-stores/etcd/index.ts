// etcd through its JSON gRPC gateway (etcd 3.4 and later serve it at /v3/): keys and values
// base64, a range to read, a txn that compares mod_revision to change atomically, and
// username/password authentication for a token. Every call has a total deadline and a size
// cap (the control planes' HTTP client, src/adapters/gateways/control-plane.ts); the
// endpoints are tried in order while one does not answer.
import type {AxiosResponse} from 'axios'

import type {ConfigStore, StoreChange, StoredValue} from '../../../core/config-store.js'
import {GatewayError} from '../../../core/errors.js'
import {registerSecrets} from '../../../core/redact.js'
import {ControlPlane} from '../../gateways/control-plane.js'

export interface EtcdOptions {
  endpoints: string[]
  username?: string
  password?: string
  timeoutMs: number
}

interface EtcdError {
  error?: string
  message?: string
  code?: number
}

interface RangeAnswer {
  kvs?: Array<{key?: string; value?: string; mod_revision?: string}>
}

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64')

export class EtcdStore implements ConfigStore {
  readonly type = 'etcd'
  readonly where: string
  private readonly planes: Array<{url: string; plane: ControlPlane}>
  private token?: Promise<string>

  constructor(private readonly options: EtcdOptions) {
    if (options.password) registerSecrets([options.password])
    this.where = `etcd at ${options.endpoints.map(shownUrl).join(', ')}`
    this.planes = options.endpoints.map((url) => ({
      url,
      plane: new ControlPlane({
        peer: `etcd at ${shownUrl(url)}`,
        baseURL: url,
        timeoutMs: options.timeoutMs,
        authHint: 'Check config.username and config.password.',
        urlKey: 'config.endpoints',
      }),
    }))
  }

  async get(key: string, signal?: AbortSignal): Promise<StoredValue | null> {
    const answer = (await this.call('/v3/kv/range', {key: b64(key)}, `read ${key}`, signal)) as RangeAnswer
    const kv = answer.kvs?.[0]
    if (!kv) return null
    // proto3 JSON leaves out an empty value
    return {value: Buffer.from(kv.value ?? '', 'base64'), modRevision: kv.mod_revision ?? '0'}
  }

  async commit(change: StoreChange, signal?: AbortSignal): Promise<boolean> {
    const body = {
      // a key that does not exist has mod_revision 0
      compare: change.expect.map((e) => ({key: b64(e.key), result: 'EQUAL', target: 'MOD', mod_revision: e.modRevision})),
      success: [
        ...change.put.map((p) => ({request_put: {key: b64(p.key), value: b64(p.value)}})),
        ...change.delete.map((key) => ({request_delete_range: {key: b64(key)}})),
      ],
      failure: [],
    }
    const what = [...change.put.map((p) => p.key), ...change.delete].join(', ')
    const answer = (await this.call('/v3/kv/txn', body, `change ${what}`, signal)) as {succeeded?: boolean}
    // proto3 JSON leaves out a false `succeeded`
    return answer.succeeded === true
  }

  /** One call, on the first endpoint that answers; a 401 authenticates again once. */
  private async call(path: string, body: unknown, action: string, signal?: AbortSignal): Promise<unknown> {
    let last: GatewayError | undefined
    for (const {plane} of this.planes) {
      try {
        let response = await plane.request('post', path, body, signal, await this.auth(signal))
        if (response.status === 401 && this.options.username) {
          this.token = undefined
          response = await plane.request('post', path, body, signal, await this.auth(signal))
        }
        this.expectOk(plane, response, action)
        return response.data ?? {}
      } catch (error) {
        // an answer that refuses is final; a peer that does not answer: the next endpoint
        if (!(error instanceof GatewayError) || error.permanent || signal?.aborted) throw error
        last = error
      }
    }
    throw last ?? new GatewayError('no etcd endpoint is configured')
  }

  private async auth(signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    const {username, password} = this.options
    if (!username || !password) return undefined
    this.token ??= this.authenticate(username, password, signal)
    try {
      return {authorization: await this.token}
    } catch (error) {
      this.token = undefined
      throw error
    }
  }

  private async authenticate(name: string, password: string, signal?: AbortSignal): Promise<string> {
    let last: GatewayError | undefined
    for (const {plane} of this.planes) {
      try {
        const response = await plane.request('post', '/v3/auth/authenticate', {name, password}, signal)
        this.expectOk(plane, response, `authenticate ${name}`)
        const token = (response.data as {token?: unknown} | null)?.token
        if (typeof token !== 'string' || token === '') throw new GatewayError(`etcd did not give a token for ${name}; is authentication enabled (etcdctl auth enable)?`, {permanent: true})
        registerSecrets([token])
        return token
      } catch (error) {
        if (!(error instanceof GatewayError) || error.permanent) throw error
        last = error
      }
    }
    throw last ?? new GatewayError('no etcd endpoint is configured')
  }

  private expectOk(plane: ControlPlane, response: AxiosResponse, action: string): void {
    const said = response.data as EtcdError | string | null | undefined
    plane.expectOk(response, action, typeof said === 'string' ? said : (said?.message ?? said?.error))
  }
}

/** the URL as messages show it: no user info, no query */
function shownUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return url
  }
}
