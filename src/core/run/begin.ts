// The first event of a run: everything a later takeover needs to know that
// may not be read from a config file that has changed since.
import {randomBytes} from 'node:crypto'
import type {Frozen} from '../config/frozen.js'
import type {GrayConfig} from '../config/model.js'
import type {ReleaseBase} from '../ports.js'
import type {EventData} from './events.js'

/**
 * `cohortSeed`: chosen by the caller for a new run when traffic.rotate is on (newCohortSeed), else null;
 * `release`: a run of kind config's keys and hashes;
 * `frozen`: the effective config the run drives with from any machine (../config/frozen.ts)
 */
export function runStarted(
  config: GrayConfig,
  runId: string,
  version: string,
  previousVersion: string | null,
  extra: {cohortSeed?: string | null; release?: ReleaseBase; frozen?: Frozen} = {},
): EventData['run.started'] {
  const {cohortSeed = null, release, frozen} = extra
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
    ...(cohortSeed ? {cohortSeed} : {}),
    ...(release ? {release} : {}),
  }
}

/** A new run's cohort seed (docs/cohort.md): 8 random hex digits. */
export function newCohortSeed(): string {
  return randomBytes(4).toString('hex')
}
