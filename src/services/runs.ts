// Finding runs in the journal store, without taking the lock or writing anything.
import {replay, type RunState} from '../core/run/state.js'
import type {JournalEvent} from '../core/ports.js'
import {GrayError} from '../core/errors.js'
import {readJournal} from '../state/journal.js'
import type {ServiceStore} from '../state/store.js'

export interface StoredRun {
  id: string
  path: string
  events: JournalEvent[]
  state: RunState
  torn: boolean
}

export async function readRun(store: ServiceStore, id: string): Promise<StoredRun> {
  const path = store.runPath(id)
  const {events, torn} = await readJournal(path)
  if (!events.some((e) => e.type === 'run.started')) {
    throw new GrayError(`journal ${path} holds no run.started event, so it is not a run gray can read; move it out of ${store.runsDir}`)
  }
  return {id, path, events, state: replay(events), torn}
}

export async function latestRun(store: ServiceStore): Promise<StoredRun | null> {
  const id = await store.latestRun()
  return id ? readRun(store, id) : null
}

export async function allRuns(store: ServiceStore): Promise<StoredRun[]> {
  return Promise.all((await store.listRuns()).map((id) => readRun(store, id)))
}

/** The version the service runs now: the newest completed run's, or the version an earlier rollback returned to. */
export async function currentVersion(store: ServiceStore): Promise<string | null> {
  const ids = await store.listRuns()
  for (const id of ids.reverse()) {
    const run = await readRun(store, id)
    if (run.state.status === 'completed') return run.state.version
    if (run.state.status === 'rolled_back' && run.state.previousVersion) return run.state.previousVersion
  }
  return null
}
