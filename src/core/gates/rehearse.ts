// `gray rehearse`: the gates replayed against past metrics, interval by interval, as a run
// would have measured them between two times — what they would have decided, and when.
// No deploy, no gateway: the sources are asked with the evaluation time pinned to each
// interval's end, the versions named by the caller, the run's steps laid out from the start
// (each for its bake). Both versions are compared throughout (past data has both).
import type {Check, GrayConfig} from '../config/model.js'
import {errorMessage} from '../errors.js'
import type {Measurement, MetricSource} from '../ports.js'
import {escalateVerdict} from '../run/escalation.js'
import {errorJudgement, judge, type Judgement, type Verdict} from './judge.js'
import type {Evidence} from './sequential.js'

export interface RehearseOptions {
  from: number
  to: number
  version: string
  previousVersion?: string
  service: string
  signal?: AbortSignal
}

export interface RehearsalMeasurement {
  at: string
  check: string
  verdict: Verdict
  reason: string
  /** this measurement would have rolled the run back */
  rollback: boolean
}

export interface RehearsalCheck {
  name: string
  judge: 'threshold' | 'sequential'
  measurements: number
  passes: number
  /** the first measurement that would have rolled back; null: never */
  rollback: {at: string; reason: string} | null
  last: RehearsalMeasurement | null
}

export interface Rehearsal {
  from: string
  to: string
  intervalMs: number
  checks: RehearsalCheck[]
  /** when the run would have rolled back (the earliest check's rollback), or null */
  rollback: {at: string; check: string; reason: string} | null
  /** every measurement that was not a pass, and every rollback, in time order */
  notable: RehearsalMeasurement[]
}

/** Intervals a rehearsal may replay (each is one query per cohort and check). */
export const MAX_INTERVALS = 20_000

export async function rehearse(config: Pick<GrayConfig, 'gates' | 'steps'> & {hosts?: GrayConfig['hosts']}, sources: Record<string, MetricSource>, opts: RehearseOptions): Promise<Rehearsal> {
  const gates = config.gates
  const intervalMs = gates?.intervalMs ?? 30_000
  const checks = gates?.checks ?? []
  const state = new Map(checks.map((c) => [c.name, {evidence: null as Evidence | null, lastAt: opts.from, fails: 0, errors: 0, done: false}]))
  const out = new Map<string, RehearsalCheck>(
    checks.map((c) => [c.name, {name: c.name, judge: c.judge ?? 'threshold', measurements: 0, passes: 0, rollback: null, last: null}]),
  )
  const notable: RehearsalMeasurement[] = []
  // the run's steps laid out from --from, each for its bake (the last one until --to): the
  // sequential judge's evidence restarts at each, as in a run
  const ends = config.steps.reduce<number[]>((acc, step) => [...acc, (acc.at(-1) ?? opts.from) + step.bakeMs], [])
  const stepAt = (at: number) => {
    const i = ends.findIndex((end) => at <= end)
    return i < 0 ? config.steps.length - 1 : i
  }
  for (let at = opts.from + intervalMs; at <= opts.to; at += intervalMs) {
    opts.signal?.throwIfAborted()
    await Promise.all(
      checks.map(async (check) => {
        const st = state.get(check.name) as NonNullable<ReturnType<typeof state.get>>
        if (st.done) return
        const windowMs = Math.max(1, check.judge === 'sequential' ? Math.min(check.windowMs, at - st.lastAt) : Math.min(check.windowMs, at - opts.from))
        const j = await measureOnce(check, sources[check.source], {...opts, at, windowMs}, st.evidence, {step: stepAt(at), steps: config.steps.length}, config.hosts)
        st.lastAt = at
        st.evidence = j.evidence ?? st.evidence
        st.fails = j.verdict === 'fail' ? st.fails + 1 : j.verdict === 'pass' ? 0 : st.fails
        st.errors = j.verdict === 'error' ? st.errors + 1 : 0
        const rollback = j.verdict === 'fail' && (check.critical || j.decisive === true || st.fails >= check.failures)
        const m: RehearsalMeasurement = {at: new Date(at).toISOString(), check: check.name, verdict: j.verdict, reason: j.reason, rollback}
        const r = out.get(check.name) as RehearsalCheck
        r.measurements += 1
        if (j.verdict === 'pass') r.passes += 1
        r.last = m
        if (j.verdict !== 'pass' || rollback) notable.push(m)
        if (rollback) {
          r.rollback = {at: m.at, reason: j.reason}
          st.done = true
        }
      }),
    )
  }
  notable.sort((a, b) => a.at.localeCompare(b.at))
  const first = [...out.values()].filter((c) => c.rollback).sort((a, b) => (a.rollback?.at ?? '').localeCompare(b.rollback?.at ?? ''))[0]
  return {
    from: new Date(opts.from).toISOString(),
    to: new Date(opts.to).toISOString(),
    intervalMs,
    checks: [...out.values()],
    rollback: first?.rollback ? {at: first.rollback.at, check: first.name, reason: first.rollback.reason} : null,
    notable,
  }
}

async function measureOnce(
  check: Check,
  source: MetricSource | undefined,
  req: RehearseOptions & {at: number; windowMs: number},
  evidence: Evidence | null,
  context: {step: number; steps: number},
  hosts: GrayConfig['hosts'] = {stable: [], gray: []},
): Promise<Judgement> {
  if (!source) return errorJudgement(check, `no metric source named ${check.source}`)
  const base = {check, service: req.service, previousVersion: req.previousVersion, windowMs: req.windowMs, at: req.at, signal: req.signal}
  try {
    const [gray, stable] = await Promise.all([
      source.measure({...base, cohort: 'gray', version: req.version, hosts: hosts.gray}),
      check.baseline && req.previousVersion ? source.measure({...base, cohort: 'stable', version: req.previousVersion, hosts: hosts.stable}) : Promise.resolve<Measurement | undefined>(undefined),
    ])
    return escalateVerdict(check, judge(check, gray, stable, evidence, context))
  } catch (error) {
    return errorJudgement(check, errorMessage(error))
  }
}
