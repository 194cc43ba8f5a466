// The BFE gateway (files mode): gray rewrites its product's route rules, its
// two clusters, their backends and sub-cluster weights and the tag's
// mod_header rules in BFE's conf directory, keeping everything else in those
// files; then asks BFE's monitor port to reload them (/reload/server_data_conf,
// /reload/gslb_data_conf, /reload/mod_header) and reads back the versions BFE
// loaded. When BFE refuses a reload, gray puts every file back and reloads again.
// The read-back uses BFE's own monitor handlers (bfe_server/web_server.go,
// monitor_stat.go): host_table_version (route_rule.data's Version as
// ProductRoute), cluster_table_version (cluster_conf.data's as ClusterConfVer)
// and bal_table_version (cluster_table.data's Version, gslb.data's Ts). BFE
// registers no version for mod_header (only /reload/mod_header): its reload's
// answer is all gray has for the tag rules.
import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import type {BfeGatewayConfig} from '../../../core/config/model.js'
import {errorMessage, GatewayError} from '../../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {writeAtomic} from '../../../state/files.js'
import {gatewayCapabilities} from '../capabilities.js'
import {ControlPlane, peerWords} from '../control-plane.js'
import {assertPublishesFor, permanentStatus} from '../retry.js'
import {FILES, parseVersion, renderFiles, versionOf, type FileKey, type Json} from './render.js'

/** BFE's monitor handlers that report the Version of each data file it loaded */
export const VERSION_PATHS = ['/monitor/host_table_version', '/monitor/cluster_table_version', '/monitor/bal_table_version'] as const
const RELOADS = ['server_data_conf', 'gslb_data_conf', 'mod_header'] as const
const TIMEOUT_MS = 5000

export class BfeGateway implements Gateway {
  readonly type = 'bfe'

  private readonly plane: ControlPlane

  constructor(
    private readonly config: BfeGatewayConfig,
    private readonly service: string,
  ) {
    this.plane = new ControlPlane({peer: `BFE's monitor at ${new URL(config.monitor).origin}`, baseURL: new URL(config.monitor).origin, timeoutMs: TIMEOUT_MS, urlKey: 'gateway.monitor (BFE must run with its monitor port there)'})
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('bfe')
  }

  render(policy: Policy): string {
    const empty = {routeRule: null, clusterConf: null, clusterTable: null, gslb: null, headerRule: null}
    const files = renderFiles(policy, this.config.product, empty)
    return (Object.keys(FILES) as FileKey[]).map((key) => `# ${FILES[key]} (gray's part)\n${JSON.stringify(files[key], null, 2)}`).join('\n')
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const keys = Object.keys(FILES) as FileKey[]
    const texts = await Promise.all(keys.map((key) => this.read(key)))
    const previous = Object.fromEntries(keys.map((key, i) => [key, parseJson(texts[i] ?? null, FILES[key])])) as Record<FileKey, Json | null>
    const files = renderFiles(policy, this.config.product, previous)
    for (const key of keys) await this.write(key, `${JSON.stringify(files[key], null, 4)}\n`)
    try {
      for (const name of RELOADS) await this.reload(name, signal)
    } catch (error) {
      // BFE keeps what it had; the files go back to match it
      for (const [i, key] of keys.entries()) await this.restore(key, texts[i] ?? null)
      for (const name of RELOADS) await this.reload(name, signal).catch(() => undefined)
      throw error
    }
    const served = await this.readBack(signal)
    const want = versionOf(policy)
    if (!served || versionOf(served) !== want) {
      throw new GatewayError(`BFE reloaded but reports ${served ? `revision ${served.revision}` : 'no gray version'} instead of ${policy.revision}; check BFE's log.`)
    }
    return served
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const [hostTable, clusterTable, balTable] = await Promise.all(VERSION_PATHS.map(async (path) => this.getJson(path, signal)))
    const versions = [hostTable?.ProductRoute, clusterTable?.ClusterConfVer, balTable?.ClusterTableConfVer, balTable?.GslbConfTimeStamp].map(parseVersion)
    const first = versions[0]
    if (!first) return null
    // every file BFE loaded must carry the same policy, else it is half-loaded
    if (versions.some((v) => !v || v.revision !== first.revision)) {
      throw new GatewayError(`BFE has loaded parts of different policies (${versions.map((v) => v?.revision ?? 'none').join(', ')}); publish again.`)
    }
    return {revision: first.revision, mode: first.mode, weightBp: first.weightBp}
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<Record<string, unknown> | null> {
    const body = await this.get(path, signal)
    try {
      const data = JSON.parse(body) as unknown
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : null
    } catch {
      throw new GatewayError(`BFE's monitor answered ${path} with something that is not JSON.`, {permanent: true})
    }
  }

  private async reload(name: string, signal?: AbortSignal): Promise<void> {
    await this.get(`/reload/${name}`, signal)
  }

  /** the body of a 2xx answer; else a GatewayError with BFE's words (a refused reload is permanent) */
  private async get(path: string, signal?: AbortSignal): Promise<string> {
    const response = await this.plane.request('get', path, undefined, signal)
    const body = typeof response.data === 'string' ? response.data : JSON.stringify(response.data ?? '')
    if (response.status < 200 || response.status >= 300) {
      const said = peerWords(body)
      if (path.startsWith('/reload/')) throw new GatewayError(`BFE refused ${path} (HTTP ${response.status}: ${said}); gray put its previous files back.`, {permanent: response.status < 500 || /err/i.test(said)})
      throw new GatewayError(`BFE's monitor did not answer ${path} (HTTP ${response.status}: ${said}).`, {permanent: permanentStatus(response.status)})
    }
    return body
  }

  private async read(key: FileKey): Promise<string | null> {
    try {
      return await readFile(join(this.config.conf, FILES[key]), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw this.ioError('read', key, error)
    }
  }

  private async write(key: FileKey, text: string): Promise<void> {
    try {
      await writeAtomic(join(this.config.conf, FILES[key]), text, {mode: 0o644, durable: true})
    } catch (error) {
      throw this.ioError('write', key, error)
    }
  }

  private async restore(key: FileKey, text: string | null): Promise<void> {
    if (text === null) await rm(join(this.config.conf, FILES[key]), {force: true})
    else await this.write(key, text)
  }

  private ioError(verb: string, key: FileKey, error: unknown): GatewayError {
    const code = (error as NodeJS.ErrnoException).code
    return new GatewayError(`gray could not ${verb} ${join(this.config.conf, FILES[key])} (${code ?? errorMessage(error)}); check that BFE's conf directory exists and gray may write to it.`, {
      permanent: code === 'EACCES' || code === 'EPERM' || code === 'ENOENT',
      cause: error,
    })
  }
}

function parseJson(text: string | null, file: string): Json | null {
  if (text === null) return null
  try {
    return JSON.parse(text) as Json
  } catch {
    throw new GatewayError(`${file} in BFE's conf directory is not JSON; gray will not rewrite a file it cannot read. Fix or remove it.`, {permanent: true})
  }
}
