// hosts.stable / hosts.gray from an inventory (docs/hosts.md): read when a run
// starts and frozen into run.started; a run under way drives its frozen hosts,
// and a takeover reads the inventory again only to report what changed.
import path from 'node:path'

import {readInventory} from '../adapters/inventory/read.js'
import {frozenFormOf, rememberForm, withListedHosts} from '../core/config/frozen.js'
import {hostsFromInventory, inventoryRead, type InventoryRead} from '../core/config/inventory.js'
import {changedWarning, inventoryDiff, unreadWarning, type InventoryDiff} from '../core/run/inventory.js'
import type {GrayConfig, Host, HostPool, InventorySource} from '../core/config/model.js'
import {InvalidConfigError} from '../core/config/problems.js'
import {validateConfig} from '../core/config/validate.js'
import {errorMessage} from '../core/errors.js'
import type {JournalWriter} from '../core/ports.js'

export interface ResolvedConfig {
  /** hosts filled in from every inventory, `inventory` gone: the config as if gray.yaml listed them */
  config: GrayConfig
  read: InventoryRead[]
}

const POOLS: HostPool[] = ['gray', 'stable']

function sources(config: GrayConfig): Array<[HostPool, InventorySource]> {
  return POOLS.flatMap((pool): Array<[HostPool, InventorySource]> => {
    const source = config.inventory?.[pool]
    return source ? [[pool, source]] : []
  })
}

async function readPool(config: GrayConfig, pool: HostPool, source: InventorySource, signal?: AbortSignal): Promise<Host[]> {
  const value = await readInventory(pool, source, {dir: path.dirname(config.file), service: config.service, signal})
  return hostsFromInventory(pool, source, value)
}

export interface ResolveOptions {
  /** run inventory commands (default); false reads files only and leaves a stand-in host for a command's pool (validate) */
  commands?: boolean
  signal?: AbortSignal
}

/**
 * Stand-ins for a pool whose command was not run (validate): documentation
 * addresses (RFC 5737) no run ever sees, enough of them that a step's `hosts:
 * N` or "N%" below 100% never looks like converting every stable host.
 */
function standIns(config: GrayConfig, pool: HostPool): Host[] {
  const counts = config.steps.map((step) => (step.hosts && 'count' in step.hosts ? step.hosts.count : 0))
  const n = Math.max(100, ...counts.map((c) => c + 1))
  return Array.from({length: n}, (_, i) => ({name: `${pool}-not-read-${i + 1}`, address: `192.0.2.${(i % 254) + 1}:${(pool === 'stable' ? 10_000 : 20_000) + Math.floor(i / 254)}`}))
}

/**
 * Reads every inventory of the config (side by side) and checks the hosts as
 * gray.yaml's own list would be checked (duplicates, step counts). A config
 * without one is returned as it is.
 */
export async function resolveInventory(config: GrayConfig, options: ResolveOptions = {}): Promise<ResolvedConfig> {
  const pools = sources(config)
  if (pools.length === 0) return {config, read: []}
  const found = await Promise.all(
    pools.map(async ([pool, source]) => (source.kind === 'command' && options.commands === false ? null : readPool(config, pool, source, options.signal))),
  )
  const hosts = {...config.hosts}
  pools.forEach(([pool], i) => (hosts[pool] = found[i] ?? standIns(config, pool)))
  const {inventory: _read, ...rest} = config
  const resolved: GrayConfig = {...rest, hosts}
  // the run freezes the hosts read, and every `${VAR}` of gray.yaml as the reference it was
  rememberForm(resolved, withListedHosts(frozenFormOf(config), Object.fromEntries(pools.map(([pool]) => [pool, hosts[pool]]))))
  // with a stand-in, counts against it mean nothing: validate checks them once the command is run
  const checked = found.includes(null) ? {...resolved, inventory: config.inventory} : resolved
  const problems = validateConfig(checked)
  if (problems.length > 0) throw new InvalidConfigError(problems, `the hosts come from an inventory (${pools.map(([pool]) => `hosts.${pool}`).join(', ')}): fix what it lists`)
  return {config: resolved, read: pools.map(([pool, source], i) => inventoryRead(pool, source, found[i] ?? null))}
}

/** What a takeover found, pool by pool: journaled, and told to the person at the terminal. */
export type InventoryCheck = {pool: HostPool; from: string} & ({diff: InventoryDiff} | {error: string})

/**
 * At a takeover (or resume) of a run whose hosts came from an inventory: the
 * config to drive with holds the hosts frozen in run.started, whatever the
 * inventory lists now. The inventory is read again to report a host that
 * vanished (it stays in the run) or a new one (not added): both journaled as
 * inventory.changed, a failure to read as inventory.unreadable. Nothing here
 * stops the takeover.
 */
export async function inventoryAtTakeover(config: GrayConfig, journal: JournalWriter, note?: (line: string, loud?: boolean) => void): Promise<GrayConfig> {
  const pools = sources(config)
  const started = journal.events()[0]
  if (pools.length === 0 || started?.type !== 'run.started') return config
  const frozen = started.data.hosts as {stable: Host[]; gray: Host[]}
  const driven = withFrozenHosts(config, frozen)
  const checks = await Promise.all(
    pools.map(async ([pool, source]): Promise<InventoryCheck> => {
      const from = inventoryRead(pool, source, null).from
      try {
        return {pool, from, diff: inventoryDiff(frozen[pool], await readPool(config, pool, source, AbortSignal.timeout(source.kind === 'command' ? source.timeoutMs + 5_000 : 30_000)))}
      } catch (error) {
        return {pool, from, error: errorMessage(error)}
      }
    }),
  )
  for (const check of checks) {
    if ('error' in check) {
      await journal.append('inventory.unreadable', {pool: check.pool, from: check.from, error: check.error})
      note?.(unreadWarning(check.pool, check.from, check.error), true)
      continue
    }
    const {vanished, added} = check.diff
    if (vanished.length === 0 && added.length === 0) continue
    await journal.append('inventory.changed', {pool: check.pool, from: check.from, vanished, added})
    note?.(changedWarning(check.pool, check.from, check.diff), vanished.length > 0)
  }
  return driven
}

/**
 * gray.yaml's config as a run started from it drives it: each pool read from an
 * inventory is the run's frozen list (`frozen`, run.started's hosts), so its
 * hash is the run's when nothing else changed. A config without one is itself.
 */
export function withFrozenHosts(config: GrayConfig, frozen: {stable: Host[]; gray: Host[]}): GrayConfig {
  const pools = sources(config)
  if (pools.length === 0) return config
  const {inventory: _read, ...rest} = config
  const listed = Object.fromEntries(pools.map(([pool]) => [pool, frozen[pool]]))
  const driven: GrayConfig = {...rest, hosts: {...config.hosts, ...listed}}
  rememberForm(driven, withListedHosts(frozenFormOf(config), listed))
  return driven
}
