// Which config a run is driven with: the one it started with (run.started's
// effectiveConfig, or the last config.adopted), filled from this machine's
// environment; gray.yaml's only when it is the same, or adopted (--adopt-config).
// Runs started before the config was frozen drive with gray.yaml, as they always did.
import {changesLine, configHash, diffConfigs, freezeConfig, frozenFormOf, resolveFrozen, type FrozenConfig} from '../core/config/frozen.js'
import type {GrayConfig, StateSettings} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import type {JournalEvent} from '../core/ports.js'
import type {EventData} from '../core/run/events.js'
import {withFrozenHosts} from './inventory.js'

/**
 * What to do when gray.yaml differs from the run's config: `refuse` (exit 2, the
 * difference shown), `frozen` (drive with the run's own, and say so), `adopt`
 * (journal config.adopted and drive with gray.yaml's from then on).
 */
export type ConfigChoice = 'refuse' | 'frozen' | 'adopt'

export interface RunConfig {
  config: GrayConfig
  /** config.adopted, for the driver to journal before it drives */
  adopted?: EventData['config.adopted']
  /** a sentence for the person: gray.yaml differs and the run's own config drives */
  note?: string
}

/** The config the run drives with now, as journaled: the last adopted one, else the one it started with; null for older runs. */
export function frozenOf(events: readonly JournalEvent[]): {config: FrozenConfig; hash: string; file: string} | null {
  const started = events.find((e) => e.type === 'run.started')
  if (!started) return null
  const first = started.data as unknown as EventData['run.started']
  const adopted = events.findLast((e) => e.type === 'config.adopted')
  if (adopted) {
    const d = adopted.data as unknown as EventData['config.adopted']
    return {config: d.config, hash: d.hash, file: first.config}
  }
  if (!first.effectiveConfig || !first.configHash) return null
  return {config: first.effectiveConfig, hash: first.configHash, file: first.config}
}

export interface RunConfigOptions {
  choice?: ConfigChoice
  /** the state of the context that drives: where the run was found */
  state: StateSettings
  /** who adopts, for the journal */
  by: string
  env?: Record<string, string | undefined>
}

/** The config to drive run `events` with, given gray.yaml's (`current`, when there is one here). */
export function configForRun(events: readonly JournalEvent[], current: GrayConfig | undefined, options: RunConfigOptions): RunConfig {
  const frozen = frozenOf(events)
  if (!frozen) {
    if (current) return {config: current}
    throw new ConfigError(
      'this run was started before gray kept a run\'s config in its journal, and there is no gray.yaml here to drive it with',
      'run the command where its gray.yaml is (or -c path/to/gray.yaml)',
    )
  }
  const own = (): GrayConfig => ({...resolveFrozen(frozen.config, options.env), file: current?.file ?? frozen.file, state: current?.state ?? options.state})
  if (!current) return {config: own()}
  // hosts from an inventory compare as the run froze them: what the inventory lists now is only reported (inventoryAtTakeover)
  const started = events.find((e) => e.type === 'run.started')?.data as unknown as EventData['run.started'] | undefined
  const driven = started?.hosts ? withFrozenHosts(current, started.hosts) : current
  const form = frozenFormOf(driven)
  if (configHash(form) === frozen.hash) return {config: current}

  const changes = diffConfigs(frozen.config, form)
  const choice = options.choice ?? 'frozen'
  if (choice === 'adopt') {
    const fresh = freezeConfig(driven)
    return {config: current, adopted: {hash: fresh.hash, previousHash: frozen.hash, changed: changes.map((c) => c.key), config: fresh.config, by: options.by}}
  }
  if (choice === 'refuse') {
    throw new ConfigError('the run was started with a different gray.yaml; pass --adopt-config to drive with the new one', `changed: ${changesLine(changes)}; nothing was done`)
  }
  return {
    config: own(),
    note: `gray.yaml differs from the config this run drives with (${changesLine(changes)}); driving with the run's own config — pass --adopt-config to drive with gray.yaml's`,
  }
}
