// What both state backends do alike with events: the journal's actor of a
// lease holder, and how an imported run is compared with one already there.
import type {Actor, JournalEvent} from '../core/ports.js'
import {GrayError} from '../core/errors.js'
import type {ImportOutcome} from './backend.js'

/** the journal's actor: who acts, without the lease's own fields */
export function actorOf(holder: Actor): Actor {
  return {user: holder.user, host: holder.host, pid: holder.pid, ci: holder.ci}
}

/** an imported run that is already there: the same events again is a no-op, anything else is refused */
export function sameRun(existing: readonly JournalEvent[], incoming: readonly JournalEvent[], runId: string): ImportOutcome {
  const same = existing.length === incoming.length && existing.every((e, i) => canonical(e) === canonical(incoming[i]))
  if (same) return 'identical'
  throw new GrayError(`run ${runId} already exists here with other events (${existing.length} here, ${incoming.length} in the import); nothing was overwritten`, {
    exitCode: 2,
  })
}

/** JSON with keys sorted, so the same event reads the same whichever store reordered its keys (jsonb does) */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}
