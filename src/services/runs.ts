// Finding runs in the service's state, without taking the lease or writing anything.
import {join} from 'node:path'

import {replay, type RunState} from '../core/run/state.js'
import type {JournalEvent} from '../core/ports.js'
import {GrayError} from '../core/errors.js'
import type {StateContext} from './context.js'

/** what reading runs needs: the service and its backend */
export type RunSource = Pick<StateContext, 'service' | 'backend'>

export interface StoredRun {
  id: string
  /** where the run lives, for messages: the journal file (local), or the database */
  path: string
  events: JournalEvent[]
  state: RunState
}

export async function readRun(src: RunSource, id: string): Promise<StoredRun> {
  const events = await src.backend.readEvents(src.service, id)
  const local = src.backend.kind === 'local'
  const runsDir = join(src.backend.where, src.service, 'runs')
  const path = local ? join(runsDir, `${id}.ndjson`) : `run ${id} of ${src.service} in ${src.backend.where}`
  if (!events.some((e) => e.type === 'run.started')) {
    throw new GrayError(
      local
        ? `journal ${path} holds no run.started event, so it is not a run gray can read; move it out of ${runsDir}`
        : `${path} holds no run.started event, so it is not a run gray can read`,
    )
  }
  return {id, path, events, state: replay(events)}
}

export async function latestRun(src: RunSource): Promise<StoredRun | null> {
  const id = await src.backend.currentRun(src.service)
  return id ? readRun(src, id) : null
}

export async function allRuns(src: RunSource): Promise<StoredRun[]> {
  return Promise.all((await src.backend.listRuns(src.service)).map((id) => readRun(src, id)))
}

/** The version the service runs now: the newest completed run's, or the version an earlier rollback returned to. */
export async function currentVersion(src: RunSource): Promise<string | null> {
  const ids = await src.backend.listRuns(src.service)
  for (const id of ids.reverse()) {
    const run = await readRun(src, id)
    if (run.state.status === 'completed') return run.state.version
    if (run.state.status === 'rolled_back' && run.state.previousVersion) return run.state.previousVersion
  }
  return null
}
