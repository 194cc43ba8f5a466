// Hosts from an inventory: what a command printed or a file held, checked as
// the list form of hosts.stable / hosts.gray is, and how a run's frozen hosts
// compare with what the inventory lists later. No I/O here: the reading is in
// src/adapters/inventory/read.ts, the resolving in src/services/inventory.ts.
import {expectedFor, issuesToProblems} from './issues.js'
import type {Host, HostPool, InventorySource} from './model.js'
import {EnvFilled, InvalidConfigError} from './problems.js'
import {hostList} from './schema.js'
import {redact} from '../redact.js'

/** What a pool's inventory gave, as plan, validate and start show it. */
export interface InventoryRead {
  pool: HostPool
  kind: InventorySource['kind']
  /** the argv or the file, as shown (secrets masked) */
  from: string
  /** hosts it listed; null when it was not read (validate runs no command without --connect) */
  count: number | null
  /** the first few host names */
  first: string[]
}

/** host names shown beside a count */
export const FIRST_SHOWN = 5

/** `consul catalog nodes -service web` or `hosts/web.json`, secrets masked. */
export function describeSource(source: InventorySource): string {
  if (source.kind === 'file') return redact(source.file)
  return source.command.map((arg) => (arg === '' || /[\s"'\\]/.test(arg) ? JSON.stringify(arg) : arg)).map((arg) => redact(arg)).join(' ')
}

/** `command \`consul …\`` or `file hosts.json`: where a pool's hosts come from, for a sentence. */
export function sourceWords(source: InventorySource): string {
  return `${source.kind} \`${describeSource(source)}\``
}

export function inventoryRead(pool: HostPool, source: InventorySource, hosts: Host[] | null): InventoryRead {
  return {pool, kind: source.kind, from: describeSource(source), count: hosts ? hosts.length : null, first: (hosts ?? []).slice(0, FIRST_SHOWN).map((h) => h.name)}
}

/** `hosts.stable: 1000 hosts (web-1, web-2, … web-1000) from command \`…\`` */
export function readLine(read: InventoryRead): string {
  const from = `${read.kind} \`${read.from}\``
  if (read.count === null) return `hosts.${read.pool}: from ${from} (not run; \`gray validate --connect\`, plan and start run it)`
  const more = read.count > read.first.length ? ', …' : ''
  return `hosts.${read.pool}: ${read.count} host${read.count === 1 ? '' : 's'} (${read.first.join(', ')}${more}) from ${from}`
}

/**
 * The hosts in what an inventory gave: a list of hosts written as the list
 * form accepts them (host:port strings, {name, address}), at least one.
 * Problems name the pool and the index: `hosts.stable[3]: must be …`.
 */
export function hostsFromInventory(pool: HostPool, source: InventorySource, value: unknown): Host[] {
  const parsed = hostList.safeParse(value, {error: expectedFor})
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((issue) => ({...issue, path: ['hosts', pool, ...issue.path]}))
  throw new InvalidConfigError(issuesToProblems(issues, {hosts: {[pool]: value}}, new EnvFilled()), inventoryHint(source))
}

export function inventoryHint(source: InventorySource): string {
  const what = source.kind === 'command' ? 'it must print' : 'it must hold'
  return `these hosts come from ${sourceWords(source)}; ${what} a JSON list of hosts like ["10.0.0.21:8080", {"name": "web-2", "address": "10.0.0.22:8080"}]`
}
