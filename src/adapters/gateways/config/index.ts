// A configuration released in gray through a config store (docs/config-release.md). The run's
// policies become keys: a step writes the gray value and the policy document (who reads it);
// the completion's plain policy promotes the gray value to the official key in one transaction
// that compares the official key's revision with the one the run started from; the plain
// policy after a rollback deletes the gray value and the policy, leaving the official key alone.
import {createHash} from 'node:crypto'
import {readFile, stat} from 'node:fs/promises'

import type {ConfigStore} from '../../../core/config-store.js'
import {errorMessage, GatewayError} from '../../../core/errors.js'
import {fromDocument, toDocument} from '../../../core/policy/document.js'
import type {Host} from '../../../core/config/model.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy, ReleaseBase} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {assertPublishesFor, DEFAULT_RETRY, withRetry} from '../retry.js'
import type {ConfigGatewayConfig} from './registration.js'

/** etcd refuses a request over 1.5 MiB by default; a configuration value is far smaller */
export const MAX_VALUE_BYTES = 1024 * 1024

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

const short = (hash: string | undefined | null): string => (hash ? `sha256:${hash.slice(0, 12)}` : 'nothing')

export class ConfigGateway implements Gateway {
  readonly type = 'config'

  constructor(
    private readonly config: ConfigGatewayConfig,
    private readonly service: string,
    private readonly store: ConfigStore,
  ) {}

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('config')
  }

  render(policy: Policy): string {
    const {key, grayKey, policyKey} = this.config
    if (policy.mode === 'split') {
      const routes = policy.weightBp > 0 || policy.rules.length > 0
      return [
        ...(routes ? [`put ${grayKey} = the new value (${this.config.valueFile})`] : []),
        `put ${policyKey} =`,
        JSON.stringify(this.document(policy), null, 2),
        `readers: gray users (by the policy) read ${grayKey}, everyone else ${key}`,
      ].join('\n')
    }
    if (policy.release?.promote) {
      const at = policy.release.officialModRevision ?? 'the one recorded at start'
      return [`txn: if mod_revision(${key}) == ${at} and ${grayKey} holds the new value:`, `  put ${key} = the value of ${grayKey}`, `  delete ${grayKey}, ${policyKey}`, `else: refuse (the official key changed), change nothing`].join('\n')
    }
    return `delete ${grayKey}, ${policyKey} (${key} untouched)`
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const applied: AppliedPolicy = {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
    if (policy.mode === 'split') {
      await this.retry(() => this.publishSplit(policy, signal), signal)
      const served = await this.readBack(signal)
      if (served?.revision !== policy.revision) {
        throw new GatewayError(`${this.store.where} took policy revision ${policy.revision} at ${this.config.policyKey} but serves ${served ? `revision ${served.revision}` : 'nothing'}; another writer may be changing it.`)
      }
      return served
    }
    if (policy.release?.promote) await this.retry(() => this.promote(policy, signal), signal)
    else await this.retry(() => this.store.commit({expect: [], put: [], delete: [this.config.grayKey, this.config.policyKey]}, signal), signal)
    return applied
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const found = await this.retry(() => this.store.get(this.config.policyKey, signal), signal)
    if (!found) return null
    let policy: Policy
    try {
      policy = fromDocument(JSON.parse(found.value.toString('utf8')))
    } catch (error) {
      throw new GatewayError(`${this.config.policyKey} in ${this.store.where} holds something that is not a gray.dev/v1 policy document: ${errorMessage(error)}`, {permanent: true})
    }
    if (policy.service !== this.service) {
      throw new GatewayError(`${this.config.policyKey} in ${this.store.where} holds the policy of "${policy.service}", not "${this.service}"; give each service its own key.`, {permanent: true})
    }
    return {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
  }

  async check(signal?: AbortSignal): Promise<void> {
    await this.newValue()
    await this.store.get(this.config.key, signal)
  }

  async releaseBase(signal?: AbortSignal): Promise<ReleaseBase> {
    const value = await this.newValue()
    const official = await this.retry(() => this.store.get(this.config.key, signal), signal)
    return {
      store: this.config.store,
      key: this.config.key,
      grayKey: this.config.grayKey,
      policyKey: this.config.policyKey,
      valueSha256: sha256(value),
      valueBytes: value.length,
      officialModRevision: official?.modRevision ?? '0',
      officialSha256: official ? sha256(official.value) : null,
    }
  }

  async close(): Promise<void> {
    await this.store.close?.()
  }

  /** The policy document readers find at policyKey: its upstreams name the keys, at the store's first endpoint. */
  private document(policy: Policy) {
    const address = endpointAddress(this.config.endpoints[0] ?? '')
    const side = (name: string): Host[] => [{name, address}]
    return toDocument({...policy, stable: side(this.config.key), gray: side(this.config.grayKey)})
  }

  private async publishSplit(policy: Policy, signal?: AbortSignal): Promise<void> {
    const {grayKey, policyKey} = this.config
    const put: Array<{key: string; value: Buffer}> = [{key: policyKey, value: Buffer.from(JSON.stringify(this.document(policy)))}]
    // a policy that sends no one to gray (a rollback's first move) needs no value: it must never fail for one
    if (policy.weightBp > 0 || policy.rules.length > 0) {
      const value = await this.newValue(policy.release?.valueSha256)
      const gray = await this.store.get(grayKey, signal)
      if (!gray || !gray.value.equals(value)) put.unshift({key: grayKey, value})
    }
    // the gray value and the policy that sends users to it change together
    await this.store.commit({expect: [], put, delete: []}, signal)
  }

  private async promote(policy: Policy, signal?: AbortSignal): Promise<void> {
    const {key, grayKey, policyKey} = this.config
    const expected = policy.release?.officialModRevision
    const valueSha = policy.release?.valueSha256
    if (expected === undefined || valueSha === undefined) throw new GatewayError('this promote carries no official revision to compare; it is not a configuration run', {permanent: true})
    const [gray, official] = await Promise.all([this.store.get(grayKey, signal), this.store.get(key, signal)])
    if (!gray) {
      // taken over after the transaction but before its confirmation was journaled
      if (official && sha256(official.value) === valueSha) {
        await this.store.commit({expect: [], put: [], delete: [policyKey]}, signal)
        return
      }
      throw new GatewayError(`${grayKey} is gone from ${this.store.where}, so there is no gray value to promote; \`gray rollback\` ends the run, and a new run releases the value again.`, {permanent: true})
    }
    if (sha256(gray.value) !== valueSha) {
      throw new GatewayError(
        `${grayKey} in ${this.store.where} holds another value (${short(sha256(gray.value))}) than this run released (${short(valueSha)}): someone wrote it; gray promotes only the value its gates watched. \`gray rollback\` drops it.`,
        {permanent: true},
      )
    }
    const done = await this.store.commit(
      {
        expect: [
          {key, modRevision: expected},
          {key: grayKey, modRevision: gray.modRevision},
        ],
        put: [{key, value: gray.value}],
        delete: [grayKey, policyKey],
      },
      signal,
    )
    if (done) return
    const now = await this.store.get(key, signal)
    const nowRevision = now?.modRevision ?? '0'
    if (nowRevision !== expected) {
      throw new GatewayError(
        `${key} was changed in ${this.store.where} after the run started (mod_revision ${expected}, now ${nowRevision}${now ? `, ${short(sha256(now.value))}` : ', deleted'}), so gray did not overwrite it; gray users still read ${grayKey}. Look at that change: \`gray rollback\` drops the gray value, and a new run releases from the official value as it is now.`,
        {permanent: true},
      )
    }
    // the gray key changed between the read and the transaction: read again
    throw new GatewayError(`${grayKey} changed in ${this.store.where} while gray promoted it; trying again.`)
  }

  /** The new value from config.value.file; when the run froze its hash, the file must still hold that value. */
  private async newValue(expected?: string): Promise<Buffer> {
    const file = this.config.valueFile
    let value: Buffer
    try {
      const size = (await stat(file)).size
      if (size > MAX_VALUE_BYTES) throw new GatewayError(`config.value.file ${file} holds ${size} bytes, more than the ${MAX_VALUE_BYTES / 1024} KiB a configuration value may have.`, {permanent: true})
      value = await readFile(file)
    } catch (error) {
      if (error instanceof GatewayError) throw error
      throw new GatewayError(`config.value.file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}.`, {permanent: true})
    }
    if (expected !== undefined && sha256(value) !== expected) {
      throw new GatewayError(
        `config.value.file ${file} changed after the run started (${short(expected)}, now ${short(sha256(value))}); put back the value the run began with, or \`gray rollback\` and start a new run.`,
        {permanent: true},
      )
    }
    return value
  }

  private retry<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(task, {...DEFAULT_RETRY, signal})
  }
}

/** host:port of an endpoint URL, for the policy document's upstreams */
function endpointAddress(url: string): string {
  try {
    const u = new URL(url)
    // an IPv6 hostname keeps its brackets
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
  } catch {
    return 'config-store:0'
  }
}
