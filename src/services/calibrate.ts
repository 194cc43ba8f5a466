// `gray calibrate`: each check's overdispersion factor, measured on an A/A split of the
// stable fleet (docs/metrics.md "Calibrating overdispersion"; the estimator is
// src/core/gates/calibrate.ts).
import ms from 'ms'

import type {Check, GrayConfig, Host} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import {calibrate, countable, type Calibration, type CalibrationCheck} from '../core/gates/calibrate.js'
import {MAX_INTERVALS} from '../core/gates/rehearse.js'
import {placeholdersIn} from '../core/template.js'
import {loadContext} from './context.js'
import {resolveInventory} from './inventory.js'
import {parseTime} from './rehearse.js'

export interface CalibrateFlags {
  /** live: measure from now for this long ("30m") */
  for?: string
  /** past data: from, to (default now) */
  from?: string
  to?: string
  /** the version the stable hosts run */
  version: string
  /** only these checks (by name); all countable checks when empty */
  checks?: string[]
}

export type CalibrateResult = Calibration & {service: string; version: string; live: boolean}

/** The stable hosts in two groups, alternately by their order in gray.yaml. */
export function splitHosts(hosts: readonly Host[]): {a: Host[]; b: Host[]} {
  return {a: hosts.filter((_, i) => i % 2 === 0), b: hosts.filter((_, i) => i % 2 === 1)}
}

/** Why a check cannot tell the two groups apart, or null when it can. */
export function cannotSplit(config: Pick<GrayConfig, 'metrics'>, check: Check): string | null {
  if (!countable(check)) return 'not a count (errors/total or a histogram): overdispersion does not apply'
  if (config.metrics[check.source]?.type === 'scrape') return null
  const queries = [check.errors, check.total, check.histogram].filter((q): q is string => q !== undefined)
  if (queries.every((q) => placeholdersIn(q).includes('hosts'))) return null
  return 'its queries do not all select hosts with {hosts}, so both groups would read the same counts'
}

export async function calibrateService(file: string, flags: CalibrateFlags, onInterval?: (done: number, total: number) => void): Promise<CalibrateResult> {
  // hosts from an inventory are read now: calibrating measures the stable hosts as they are
  const {config} = await resolveInventory((await loadContext(file)).config)
  if (!config.gates) throw new ConfigError(`${config.file} has no gates to calibrate.`, 'add gates.checks to gray.yaml')
  if ((flags.for === undefined) === (flags.from === undefined)) {
    throw new ConfigError('say what to measure: --for 30m (from now on) or --from/--to (past data), one of the two.')
  }
  if (flags.for !== undefined && flags.to !== undefined) throw new ConfigError('--to goes with --from, not with --for.')
  let from: number
  let to: number
  if (flags.for !== undefined) {
    const span = ms(flags.for as ms.StringValue)
    if (typeof span !== 'number' || !Number.isFinite(span) || span <= 0) throw new ConfigError(`--for ${JSON.stringify(flags.for)} is not a duration: give one like 30m or 2h.`)
    from = Date.now()
    to = from + span
  } else {
    from = parseTime(flags.from as string, 'from')
    to = flags.to === undefined ? Date.now() : parseTime(flags.to, 'to')
    if (!(to > from)) throw new ConfigError(`--to (${new Date(to).toISOString()}) must be after --from (${new Date(from).toISOString()}).`)
  }
  const intervals = Math.floor((to - from) / config.gates.intervalMs)
  if (intervals < 1) throw new ConfigError(`the range is shorter than one interval (${ms(config.gates.intervalMs)}).`)
  if (intervals > MAX_INTERVALS) throw new ConfigError(`the range is ${intervals} intervals of ${ms(config.gates.intervalMs)}; calibrate at most ${MAX_INTERVALS}: shorten it.`)
  const stable = config.hosts.stable
  if (stable.length < 2) throw new ConfigError(`calibrating needs two groups of stable hosts; ${config.file} lists ${stable.length}.`, 'list at least two hosts under hosts.stable')
  const named = flags.checks ?? []
  const unknown = named.filter((n) => !config.gates?.checks.some((c) => c.name === n))
  if (unknown.length > 0) throw new ConfigError(`no check named ${unknown.map((n) => JSON.stringify(n)).join(', ')} in ${config.file}.`)
  const wanted = config.gates.checks.filter((c) => named.length === 0 || named.includes(c.name))
  const skipped: CalibrationCheck[] = []
  const measured: Check[] = []
  for (const check of wanted) {
    const why = cannotSplit(config, check)
    if (why === null) measured.push(check)
    else skipped.push({name: check.name, measured: null, phi: null, low: null, high: null, intervals: 0, errors: 0, recommended: null, line: null, note: `not calibrated: ${why}`})
  }
  if (measured.length === 0) {
    const why = skipped.map((c) => `${c.name}: ${c.note}`).join('; ')
    throw new ConfigError(`no check can be calibrated (${why}).`, 'select each group\'s hosts in the queries, e.g. instance=~"{hosts}" (docs/metrics.md "Calibrating overdispersion")')
  }
  const {createSources} = await import('../adapters/factory.js')
  const {systemClock} = await import('../adapters/clock.js')
  const sources = await createSources(config)
  try {
    const result = await calibrate(config, sources, measured, {
      from,
      to,
      version: flags.version,
      service: config.service,
      groups: splitHosts(stable),
      clock: flags.for === undefined ? undefined : systemClock,
      onInterval: (_at, done, total) => onInterval?.(done, total),
    })
    const order = new Map(wanted.map((c, i) => [c.name, i]))
    const checks = [...result.checks, ...skipped].sort((x, y) => (order.get(x.name) ?? 0) - (order.get(y.name) ?? 0))
    return {service: config.service, version: flags.version, live: flags.for !== undefined, ...result, checks}
  } finally {
    await Promise.all(Object.values(sources).map((s) => s.close?.().catch(() => undefined)))
  }
}
