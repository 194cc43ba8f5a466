// What `gray agent` tells /metrics: a snapshot kept in memory as the driver's
// events go by, rendered as Prometheus text on request. Nothing here reads the
// state or waits on anything, so no scrape can delay a driver.
import type {JournalEvent} from '../core/ports.js'
import type {RunState} from '../core/run/state.js'

interface GateLast {
  value: number | null
  verdict: string
}

interface ServiceMetrics {
  runId: string | null
  state: string | null
  gates: Map<string, GateLast>
  publishStarted: Map<string, number>
  publishLastSeconds: number | null
  publishSum: number
  publishCount: number
  leaseSince: number | null
  driven: number
  takeovers: number
}

const STATES = ['deploying', 'running', 'baking', 'waiting', 'paused', 'rolling_back', 'completed', 'rolled_back', 'failed'] as const
const VERDICTS = ['pass', 'fail', 'no-data', 'error'] as const

export class AgentMetrics {
  private readonly services = new Map<string, ServiceMetrics>()
  private readonly startedAt = Date.now()

  constructor(services: readonly string[]) {
    for (const service of services) {
      this.services.set(service, {
        runId: null,
        state: null,
        gates: new Map(),
        publishStarted: new Map(),
        publishLastSeconds: null,
        publishSum: 0,
        publishCount: 0,
        leaseSince: null,
        driven: 0,
        takeovers: 0,
      })
    }
  }

  /** the service's current run as last read or driven */
  run(service: string, state: RunState | null): void {
    const m = this.services.get(service)
    if (!m) return
    if (m.runId !== (state?.runId ?? null)) m.gates.clear()
    m.runId = state?.runId ?? null
    m.state = state?.status ?? null
    if (state) {
      for (const [name, gate] of Object.entries(state.gates)) if (gate.last) m.gates.set(name, {value: gate.last.value, verdict: gate.last.verdict})
    }
  }

  event(service: string, event: JournalEvent, state: RunState): void {
    const m = this.services.get(service)
    if (!m) return
    this.run(service, state)
    const data = event.data as Record<string, unknown>
    if (event.type === 'gateway.publish.started' && typeof data.revision === 'string') m.publishStarted.set(data.revision, Date.parse(event.at))
    if ((event.type === 'gateway.publish.confirmed' || event.type === 'gateway.publish.failed') && typeof data.revision === 'string') {
      const began = m.publishStarted.get(data.revision)
      m.publishStarted.delete(data.revision)
      if (began !== undefined && event.type === 'gateway.publish.confirmed') {
        const seconds = Math.max(0, (Date.parse(event.at) - began) / 1000)
        m.publishLastSeconds = seconds
        m.publishSum += seconds
        m.publishCount += 1
      }
    }
  }

  leaseTaken(service: string, takeover: boolean): void {
    const m = this.services.get(service)
    if (!m) return
    m.leaseSince = Date.now()
    m.driven += 1
    if (takeover) m.takeovers += 1
  }

  leaseGone(service: string): void {
    const m = this.services.get(service)
    if (m) m.leaseSince = null
  }

  /** Prometheus text exposition format 0.0.4 */
  render(now = Date.now()): string {
    const out: string[] = []
    const family = (name: string, type: string, help: string, rows: Array<[Record<string, string>, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
      for (const [labels, value] of rows) out.push(`${name}${labelText(labels)} ${number(value)}`)
    }
    const all = [...this.services.entries()]
    family('gray_agent_up', 'gauge', 'This gray agent runs (1).', [[{}, 1]])
    family('gray_agent_uptime_seconds', 'gauge', 'Seconds since this gray agent started.', [[{}, (now - this.startedAt) / 1000]])
    family(
      'gray_runs',
      'gauge',
      "Services' current runs by state (1 for the state the run is in).",
      all.flatMap(([service, m]) => (m.state ? STATES.map((state): [Record<string, string>, number] => [{service, state}, m.state === state ? 1 : 0]) : [])),
    )
    family(
      'gray_gate_value',
      'gauge',
      "Each gate's last measured value in the current run (NaN when it could not be measured).",
      all.flatMap(([service, m]) => [...m.gates].map(([gate, g]): [Record<string, string>, number] => [{service, gate}, g.value ?? Number.NaN])),
    )
    family(
      'gray_gate_verdict',
      'gauge',
      "Each gate's last verdict in the current run (1 for the verdict given).",
      all.flatMap(([service, m]) => [...m.gates].flatMap(([gate, g]) => VERDICTS.map((verdict): [Record<string, string>, number] => [{service, gate, verdict}, g.verdict === verdict ? 1 : 0]))),
    )
    family(
      'gray_publish_last_latency_seconds',
      'gauge',
      'Seconds from the last confirmed publish being journaled as started to confirmed.',
      all.flatMap(([service, m]): Array<[Record<string, string>, number]> => (m.publishLastSeconds === null ? [] : [[{service}, m.publishLastSeconds]])),
    )
    out.push('# HELP gray_publish_latency_seconds Publish latency of the runs this agent drove.', '# TYPE gray_publish_latency_seconds summary')
    for (const [service, m] of all) {
      out.push(`gray_publish_latency_seconds_sum${labelText({service})} ${number(m.publishSum)}`, `gray_publish_latency_seconds_count${labelText({service})} ${m.publishCount}`)
    }
    family('gray_lease_held', 'gauge', "Whether this agent holds the service's driver lease (1) or not (0).", all.map(([service, m]) => [{service}, m.leaseSince === null ? 0 : 1]))
    family(
      'gray_lease_age_seconds',
      'gauge',
      "Seconds since this agent took the service's driver lease.",
      all.flatMap(([service, m]): Array<[Record<string, string>, number]> => (m.leaseSince === null ? [] : [[{service}, (now - m.leaseSince) / 1000]])),
    )
    family('gray_agent_drives_total', 'counter', 'Runs this agent took the lease of and drove.', all.map(([service, m]) => [{service}, m.driven]))
    family('gray_agent_takeovers_total', 'counter', "Runs this agent took over from a driver whose lease lapsed.", all.map(([service, m]) => [{service}, m.takeovers]))
    return out.join('\n') + '\n'
  }
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`
}

function number(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Number.POSITIVE_INFINITY) return '+Inf'
  if (n === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(Math.round(n * 1e6) / 1e6)
}
