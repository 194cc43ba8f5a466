// `gray rehearse`: the gates of gray.yaml replayed against past metrics (docs/metrics.md).
import ms from 'ms'

import {ConfigError} from '../core/errors.js'
import {MAX_INTERVALS, rehearse, type Rehearsal} from '../core/gates/rehearse.js'
import {loadContext} from './context.js'
import {resolveInventory} from './inventory.js'

export interface RehearseFlags {
  from: string
  to?: string
  version: string
  previousVersion?: string
}

/** An ISO time, or a duration ago ("2h": two hours before now). */
export function parseTime(text: string, flag: string, now = Date.now()): number {
  const ago = ms(text as ms.StringValue)
  if (typeof ago === 'number' && Number.isFinite(ago) && ago >= 0 && !/^\d{4}-/.test(text)) return now - ago
  const at = Date.parse(text)
  if (Number.isNaN(at)) throw new ConfigError(`--${flag} ${JSON.stringify(text)} is not a time: give an ISO time like 2026-12-03T06:00:00Z, or how long ago, like 2h.`)
  return at
}

export async function rehearseService(file: string, flags: RehearseFlags): Promise<Rehearsal & {service: string; version: string; previousVersion: string | null}> {
  // hosts from an inventory: what it lists now (a rehearsal replays past data against today's hosts)
  const {config} = await resolveInventory((await loadContext(file)).config)
  const from = parseTime(flags.from, 'from')
  const to = flags.to === undefined ? Date.now() : parseTime(flags.to, 'to')
  if (!(to > from)) throw new ConfigError(`--to (${new Date(to).toISOString()}) must be after --from (${new Date(from).toISOString()}).`)
  if (!config.gates) throw new ConfigError(`${config.file} has no gates to rehearse.`, 'add gates.checks to gray.yaml')
  const intervals = Math.floor((to - from) / config.gates.intervalMs)
  if (intervals > MAX_INTERVALS) {
    throw new ConfigError(`--from to --to is ${intervals} intervals of ${ms(config.gates.intervalMs)}; rehearse at most ${MAX_INTERVALS}: shorten the range.`)
  }
  if (config.gates.checks.some((c) => c.baseline) && !flags.previousVersion) {
    throw new ConfigError('checks with a baseline compare with the stable version: pass --previous-version.')
  }
  const {createSources} = await import('../adapters/factory.js')
  const sources = await createSources(config)
  try {
    const result = await rehearse(config, sources, {from, to, version: flags.version, previousVersion: flags.previousVersion, service: config.service})
    return {service: config.service, version: flags.version, previousVersion: flags.previousVersion ?? null, ...result}
  } finally {
    await Promise.all(Object.values(sources).map((s) => s.close?.().catch(() => undefined)))
  }
}
