// The first event of a run: everything a later takeover needs to know that
// may not be read from a config file that has changed since.
import type {GrayConfig} from '../config/model.js'
import type {ReleaseBase} from '../ports.js'
import type {EventData} from './events.js'

export function runStarted(config: GrayConfig, runId: string, version: string, previousVersion: string | null, release?: ReleaseBase): EventData['run.started'] {
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
    ...(release ? {release} : {}),
  }
}
