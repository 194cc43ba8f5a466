// What a run report shows, drawn from the journal alone: the weight over time,
// every gate's measurements against its limit, step boundaries, hosts, events.
import type {JournalEvent} from './ports.js'
import {percentToGray} from './run/policy.js'
import type {RunState} from './run/state.js'
import {summarize} from './run/summary.js'

export interface WeightPoint {
  t: number
  weight: number
}

export interface GatePoint {
  t: number
  value: number | null
  verdict: string
  limit: number | null
  baseline: number | null
  reason: string
}

export interface GateSeries {
  name: string
  /** which side of the limit fails: above a max, below a min; null when the config no longer says */
  direction: 'max' | 'min' | null
  points: GatePoint[]
}

export interface StepMark {
  index: number
  weight: number
  t: number
}

export interface ReportModel {
  service: string
  runId: string
  version: string
  previousVersion: string | null
  state: RunState['status']
  startedAt: number
  endedAt: number
  reason: string | null
  warnings: string[]
  rollback: {t: number; reason: string; by: string} | null
  /** what the gateway confirmed serving, in percent */
  served: WeightPoint[]
  /** what the driver set out to publish, in percent */
  intended: WeightPoint[]
  steps: StepMark[]
  /** steps the run was planned with */
  stepCount: number
  gates: GateSeries[]
  hosts: Array<{name: string; address: string; pool: string; version: string | null; healthy: boolean | null; converted: boolean}>
  events: Array<{seq: number; t: number; type: string; summary: string; actor: string}>
}

type Data = Record<string, unknown>

/** A plain policy sends everything to the new version after completion, else nothing. */
export function reportModel(events: readonly JournalEvent[], state: RunState, directions: Record<string, 'max' | 'min'> = {}): ReportModel {
  const time = (e: JournalEvent) => Date.parse(e.at)
  const served: WeightPoint[] = []
  const intended: WeightPoint[] = []
  const steps: StepMark[] = []
  const gates = new Map<string, GateSeries>(state.checks.map((name) => [name, {name, direction: directions[name] ?? null, points: []}]))
  let rollback: ReportModel['rollback'] = null
  let completing = false
  for (const e of events) {
    const d = e.data as Data
    switch (e.type) {
      case 'run.completing':
        completing = true
        break
      case 'gateway.publish.started':
        intended.push({t: time(e), weight: percentToGray({mode: String(d.mode), weightBp: Number(d.weightBp)}, completing)})
        break
      case 'gateway.publish.confirmed':
        served.push({t: time(e), weight: percentToGray({mode: String(d.mode), weightBp: Number(d.weightBp)}, completing)})
        break
      case 'step.started':
        steps.push({index: Number(d.index), weight: Number(d.weight), t: time(e)})
        break
      case 'gate.measured': {
        const name = String(d.check)
        const series = gates.get(name) ?? {name, direction: directions[name] ?? null, points: []}
        gates.set(name, series)
        series.points.push({
          t: time(e),
          value: typeof d.value === 'number' && Number.isFinite(d.value) ? d.value : null,
          verdict: String(d.verdict),
          limit: typeof d.limit === 'number' ? d.limit : null,
          baseline: typeof d.baseline === 'number' ? d.baseline : null,
          reason: String(d.reason ?? ''),
        })
        break
      }
      case 'rollback.started':
        rollback ??= {t: time(e), reason: String(d.reason ?? ''), by: String(d.by ?? '')}
        break
    }
  }
  const first = events[0]
  const last = events.at(-1)
  return {
    service: state.service,
    runId: state.runId,
    version: state.version,
    previousVersion: state.previousVersion,
    state: state.status,
    startedAt: first ? time(first) : Date.parse(state.startedAt),
    endedAt: last ? time(last) : Date.parse(state.updatedAt),
    reason: state.reason,
    warnings: state.warnings,
    rollback,
    served,
    intended,
    steps,
    stepCount: state.steps.length,
    gates: [...gates.values()],
    hosts: state.hosts.map((h) => ({name: h.name, address: h.address, pool: h.pool, version: h.version, healthy: h.healthy, converted: h.converted})),
    events: events.map((e) => ({seq: e.seq, t: time(e), type: e.type, summary: summarize(e), actor: `${e.actor.user}@${e.actor.host} pid ${e.actor.pid}`})),
  }
}
