// What a run reports when the inventory its hosts came from changed after it
// started (src/services/inventory.ts reads it again at a takeover): the hosts
// frozen in run.started stay the run's hosts; these words say what differs.
import type {Host, HostPool} from '../config/model.js'

/** A pool's frozen hosts against what its inventory lists now, by address (a host's identity in a run). */
export interface InventoryDiff {
  /** in the run, no longer in the inventory: they stay in the run */
  vanished: Host[]
  /** in the inventory, not in the run: a run never adds hosts */
  added: Host[]
}

export function inventoryDiff(frozen: readonly Host[], current: readonly Host[]): InventoryDiff {
  const now = new Set(current.map((h) => h.address))
  const before = new Set(frozen.map((h) => h.address))
  return {vanished: frozen.filter((h) => !now.has(h.address)), added: current.filter((h) => !before.has(h.address))}
}

/** `web-7, web-9 (10.0.0.9:8080), … and 12 more` */
export function hostNames(hosts: readonly Host[], limit = 10): string {
  const shown = hosts.slice(0, limit).map((h) => (h.name === h.address ? h.name : `${h.name} (${h.address})`))
  return hosts.length > limit ? `${shown.join(', ')} and ${hosts.length - limit} more` : shown.join(', ')
}

/** The warning a run keeps when its inventory could not be read again at a takeover. */
export function unreadWarning(pool: HostPool, from: string, error: string): string {
  return `hosts.${pool}'s inventory (${from}) could not be read again at the takeover (${error}): driving the hosts frozen when the run started`
}

/** The warning a run keeps (status, the end of the run, the report) when its inventory changed. */
export function changedWarning(pool: HostPool, from: string, diff: InventoryDiff): string {
  const parts: string[] = []
  const n = (count: number) => `${count} host${count === 1 ? '' : 's'}`
  if (diff.vanished.length > 0) {
    parts.push(`${n(diff.vanished.length)} of this run no longer in it (${hostNames(diff.vanished)}): still in the run, so deploys to them go on and fail if they are gone; check them, or \`gray rollback\``)
  }
  if (diff.added.length > 0) parts.push(`${n(diff.added.length)} new in it (${hostNames(diff.added)}): not added to a run under way; the next run includes them`)
  return `hosts.${pool}'s inventory (${from}) changed since the run started: ${parts.join('; ')}`
}
