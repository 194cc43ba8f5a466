// `gray state migrate | export | import`: the schema of a shared backend, and a
// service's history moved between backends as NDJSON.
//
// The export format, one JSON document per line:
//   {"format":"gray-state","version":1,"service":"shop","exportedAt":"…"}
//   {"run":"<run id>","events":<count>}         then that many lines of
//   {"run":"<run id>","event":{seq, at, actor, type, data}}
import {createReadStream, existsSync} from 'node:fs'
import {createInterface} from 'node:readline'

import type {JournalEvent} from '../core/ports.js'
import {ConfigError} from '../core/errors.js'
import {openBackend, type StateBackend, type StateConfig} from '../state/backend.js'

export const EXPORT_FORMAT = 'gray-state'
export const EXPORT_VERSION = 1
/** a line longer than this is not something gray wrote */
const MAX_LINE = 16 * 1024 * 1024

export interface StateTarget {
  service: string
  state: StateConfig
}

export interface StateFlags {
  config: string
  service?: string
  backend?: string
  url?: string
  dir?: string
}

/**
 * The service and the state to act on: gray.yaml's, with any flag overriding it;
 * without a gray.yaml, --service and the backend flags (or GRAY_DATABASE_URL) say it all.
 */
export async function stateTarget(flags: StateFlags): Promise<StateTarget> {
  let service = flags.service
  let state: StateConfig | undefined
  if (existsSync(flags.config)) {
    const {loadConfig} = await import('../core/config/load.js')
    const config = await loadConfig(flags.config)
    service ??= config.service
    state = config.state
  } else if (flags.config !== 'gray.yaml') {
    throw new ConfigError(`no config file at ${flags.config}; check the path, or give --service and --backend instead`)
  }

  const backend = flags.backend ?? (flags.url ? 'postgres' : state?.backend ?? 'local')
  if (backend === 'postgres') {
    const url = flags.url ?? (state?.backend === 'postgres' ? state.url : undefined)
    if (!url) throw new ConfigError('the postgres backend needs its URL: set GRAY_DATABASE_URL or give --url')
    if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) throw new ConfigError('the state URL must be a PostgreSQL URL like postgres://gray@db.internal:5432/gray')
    state = {backend: 'postgres', url, dir: flags.dir ?? state?.dir ?? '.gray'}
  } else if (backend === 'local') {
    state = {dir: flags.dir ?? state?.dir ?? '.gray'}
  } else {
    throw new ConfigError(`--backend must be local or postgres, got ${JSON.stringify(backend)}`)
  }
  if (!service) throw new ConfigError('no gray.yaml here to name the service: give --service NAME (or -c path/to/gray.yaml)')
  return {service, state}
}

export interface MigrateSummary {
  backend: 'local' | 'postgres'
  where: string
  /** schema versions this call applied; [] when up to date (always, for local) */
  applied: number[]
  version: number | null
}

export async function migrateState(state: StateConfig): Promise<MigrateSummary> {
  if (state.backend !== 'postgres') {
    const {resolve} = await import('node:path')
    return {backend: 'local', where: resolve(state.dir), applied: [], version: null}
  }
  const {PostgresBackend} = await import('../state/postgres/backend.js')
  const backend = await PostgresBackend.open(state.url, {migrate: false, skipSchemaCheck: true})
  try {
    const {applied, version} = await backend.migrate()
    return {backend: 'postgres', where: backend.where, applied, version}
  } finally {
    await backend.close()
  }
}

export interface ExportSummary {
  service: string
  backend: 'local' | 'postgres'
  where: string
  runs: number
  events: number
}

/** writes the service's whole history, oldest run first; `write` may return a promise to apply backpressure */
export async function exportState(target: StateTarget, write: (line: string) => unknown): Promise<ExportSummary> {
  const backend = await openBackend(target.state)
  try {
    const {service} = target
    await write(JSON.stringify({format: EXPORT_FORMAT, version: EXPORT_VERSION, service, exportedAt: new Date().toISOString()}) + '\n')
    let events = 0
    const runs = await backend.listRuns(service)
    for (const run of runs) {
      const all = await backend.readEvents(service, run)
      await write(JSON.stringify({run, events: all.length}) + '\n')
      for (const event of all) await write(JSON.stringify({run, event}) + '\n')
      events += all.length
    }
    return {service, backend: backend.kind, where: backend.where, runs: runs.length, events}
  } finally {
    await backend.close()
  }
}

export interface ImportSummary {
  service: string
  backend: 'local' | 'postgres'
  where: string
  /** runs written by this import */
  imported: string[]
  /** runs that were already there with the same events */
  unchanged: string[]
}

/** reads an export (a file, or `-` for stdin) into the target; refuses the whole import before writing when any run would be overwritten */
export async function importState(target: StateTarget, from: string, options: {serviceGiven: boolean}): Promise<ImportSummary> {
  const parsed = await readExport(from)
  const service = options.serviceGiven ? target.service : parsed.service
  const backend = await openBackend(target.state)
  try {
    const existing = new Set(await backend.listRuns(service))
    for (const [run, events] of parsed.runs) {
      if (existing.has(run)) await checkSame(backend, service, run, events)
    }

    const imported: string[] = []
    const unchanged: string[] = []
    for (const [run, events] of parsed.runs) {
      const outcome = await backend.importRun(service, run, events)
      ;(outcome === 'imported' ? imported : unchanged).push(run)
    }
    return {service, backend: backend.kind, where: backend.where, imported, unchanged}
  } finally {
    await backend.close()
  }
}

async function checkSame(backend: StateBackend, service: string, run: string, events: JournalEvent[]): Promise<void> {
  const {sameRun} = await import('../state/events.js')
  sameRun(await backend.readEvents(service, run), events, run)
}

interface ParsedExport {
  service: string
  runs: Map<string, JournalEvent[]>
}

async function readExport(from: string): Promise<ParsedExport> {
  if (from !== '-' && !existsSync(from)) throw new ConfigError(`no export file at ${from}; give the file \`gray state export\` wrote, or - for stdin`)
  const input = from === '-' ? process.stdin : createReadStream(from, {encoding: 'utf8'})
  const lines = createInterface({input, crlfDelay: Infinity})
  let number = 0
  let service: string | null = null
  const runs = new Map<string, JournalEvent[]>()
  const expected = new Map<string, number>()
  const bad = (why: string) => new ConfigError(`${from === '-' ? 'stdin' : from} line ${number} ${why}; nothing was imported`, 'give a file written by `gray state export`')

  for await (const line of lines) {
    number++
    if (line.length > MAX_LINE) throw bad('is longer than any export line')
    if (!line.trim()) continue
    let value: Record<string, unknown>
    try {
      value = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw bad('is not JSON')
    }
    if (!isRecord(value)) throw bad('is not a JSON object')
    if (service === null) {
      if (value.format !== EXPORT_FORMAT) throw bad(`is not a gray state export (no "format": "${EXPORT_FORMAT}")`)
      if (value.version !== EXPORT_VERSION) throw bad(`is export version ${JSON.stringify(value.version)}, this gray reads version ${EXPORT_VERSION}`)
      if (typeof value.service !== 'string' || !value.service) throw bad('names no service')
      service = value.service
      continue
    }
    const run = value.run
    if (typeof run !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(run)) throw bad('names no valid run id')
    if (typeof value.events === 'number') {
      if (runs.has(run)) throw bad(`starts run ${run} a second time`)
      runs.set(run, [])
      expected.set(run, value.events)
      continue
    }
    const events = runs.get(run)
    if (!events) throw bad(`has an event of run ${run} before its run line`)
    const event = value.event
    const why = whyNotEvent(event, events.length + 1)
    if (why) throw bad(why)
    events.push(event as JournalEvent)
  }

  if (service === null) throw bad('ends before the export header')
  for (const [run, events] of runs) {
    if (events.length !== expected.get(run)) throw bad(`ends with run ${run} holding ${events.length} of its ${expected.get(run)} events`)
    if (events[0]?.type !== 'run.started') throw bad(`has run ${run} without a run.started event first`)
  }
  return {service, runs}
}

function whyNotEvent(value: unknown, seq: number): string | null {
  if (!isRecord(value)) return 'has no event object'
  if (value.seq !== seq) return `has seq ${JSON.stringify(value.seq)} where ${seq} was expected`
  if (typeof value.at !== 'string' || typeof value.type !== 'string' || !isRecord(value.actor) || !isRecord(value.data)) return 'has an event without at, actor, type and data'
  return null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
