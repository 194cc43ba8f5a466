// `gray history`: past runs of the service, newest first.
import type {StateContext} from './context.js'
import {allRuns} from './runs.js'

export interface HistoryEntry {
  id: string
  version: string
  previousVersion: string | null
  outcome: string
  startedAt: string
  endedAt: string | null
  durationMs: number | null
  reason: string | null
}

export async function historyOf(ctx: StateContext): Promise<HistoryEntry[]> {
  const runs = await allRuns(ctx)
  return runs.reverse().map(({id, state: s}) => {
    const ended = s.outcome ? s.updatedAt : null
    return {
      id,
      version: s.version,
      previousVersion: s.previousVersion,
      outcome: s.status,
      startedAt: s.startedAt,
      endedAt: ended,
      durationMs: ended ? Date.parse(ended) - Date.parse(s.startedAt) : null,
      reason: s.reason,
    }
  })
}
