// The first event of a run: everything a later takeover needs to know that
// may not be read from a config file that has changed since.
import type {Frozen} from '../config/frozen.js'
import type {GrayConfig} from '../config/model.js'
import type {EventData} from './events.js'

/** `frozen`: the effective config the run drives with from any machine (../config/frozen.ts) */
export function runStarted(config: GrayConfig, runId: string, version: string, previousVersion: string | null, frozen?: Frozen): EventData['run.started'] {
  return {
    runId,
    service: config.service,
    version,
    previousVersion,
    steps: config.steps,
    hosts: config.hosts,
    gateway: config.gateway.type,
    checks: (config.gates?.checks ?? []).map((c) => c.name),
    config: config.file,
    ...(frozen ? {effectiveConfig: frozen.config, configHash: frozen.hash} : {}),
  }
}
