// `gray status --watch`: the run as a board that fits an 80-column terminal —
// step and weight (intended and served), hosts by version, each gate against
// its limit with a trend, the last events and who drives. Colour only when
// allowed (NO_COLOR, not a TTY); every line is cut to the terminal's width.
import {fmt} from '../core/gates/judge.js'
import type {StatusDocument} from '../services/status.js'
import {guardText} from './status.js'
import {shown} from '../core/redact.js'

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'redBold'
type Piece = [text: string, style?: Style]
type Line = Piece[]

const ANSI: Record<Style, [string, string]> = {
  bold: ['\x1b[1m', '\x1b[22m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  red: ['\x1b[31m', '\x1b[39m'],
  green: ['\x1b[32m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  cyan: ['\x1b[36m', '\x1b[39m'],
  redBold: ['\x1b[1;31m', '\x1b[22;39m'],
}

const STATE_STYLE: Record<string, Style> = {
  completed: 'green',
  rolled_back: 'red',
  rolling_back: 'redBold',
  failed: 'red',
  paused: 'yellow',
  waiting: 'yellow',
}

const VERDICT_STYLE: Record<string, Style> = {pass: 'green', fail: 'red', 'no-data': 'yellow', error: 'yellow'}

const BARS = '▁▂▃▄▅▆▇█'

export interface BoardOptions {
  width: number
  /** terminal rows: the events list takes what is left */
  height: number
  color: boolean
  now: number
  /** which side of its limit fails, per gate name */
  directions?: Record<string, 'max' | 'min'>
  intervalMs?: number
  /** the gateway is being read back: its weight is not known yet */
  reading?: boolean
}

/** A trend scaled from 0 to the larger of the values and the limit, so a line near the top is near the limit. */
export function trendline(values: Array<number | null>, limit: number | null, width: number): string {
  const recent = values.slice(-width)
  const nums = recent.filter((v): v is number => v !== null && Number.isFinite(v))
  const top = Math.max(...nums.map(Math.abs), limit === null ? 0 : Math.abs(limit))
  return recent
    .map((v) => (v === null || !Number.isFinite(v) ? ' ' : BARS[top === 0 ? 0 : Math.min(BARS.length - 1, Math.round((Math.abs(v) / top) * (BARS.length - 1)))]))
    .join('')
}

/** The text in at most `width` characters, an ellipsis for what did not fit. */
export function cut(text: string, width: number): string {
  const chars = [...text]
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`
}

/** One line of pieces cut to the width, then the pieces that have a style styled (so cutting never splits an escape). */
export function fitLine<S extends string>(pieces: ReadonlyArray<readonly [text: string, style?: S]>, width: number, styled: (part: string, style: S) => string): string {
  let room = width
  let out = ''
  for (const [text, style] of pieces) {
    if (room <= 0) break
    const part = cut(text, room)
    room -= [...part].length
    out += style ? styled(part, style) : part
  }
  return out
}

function paint(line: Line, width: number, color: boolean): string {
  return fitLine(line, width, (part, style) => (color ? `${ANSI[style][0]}${part}${ANSI[style][1]}` : part))
}

const pct = (v: number | null) => (v === null ? '-' : `${fmt(v)}%`)

function ago(iso: string | null, now: number): string {
  if (!iso) return ''
  const s = Math.round((Date.parse(iso) - now) / 1000)
  const abs = Math.abs(s)
  const text = abs >= 3600 ? `${Math.floor(abs / 3600)}h${Math.floor((abs % 3600) / 60)}m` : abs >= 60 ? `${Math.floor(abs / 60)}m${abs % 60}s` : `${abs}s`
  return s >= 0 ? `in ${text}` : `${text} ago`
}

export function renderBoard(doc: StatusDocument, o: BoardOptions): string[] {
  const lines: Line[] = []
  const rule: Line = [['─'.repeat(o.width), 'dim']]
  const clock = new Date(o.now).toISOString().slice(11, 19)
  const run = doc.run
  const every = o.intervalMs ? ` · every ${fmt(o.intervalMs / 1000)}s` : ''
  if (!run) {
    lines.push([[doc.service, 'bold'], ['  no run yet', 'dim']], [[`${clock}${every} · waiting for a run · Ctrl-C quits`, 'dim']])
    return lines.map((l) => paint(l, o.width, o.color))
  }
  const state = run.state.toUpperCase().replace('_', ' ')
  const title: Line = [[doc.service, 'bold'], [` ${run.previousVersion ?? '?'} → `], [run.version, 'bold'], ['  '], [state, STATE_STYLE[run.state] ?? 'cyan']]
  const titleWidth = title.reduce((n, [t]) => n + [...t].length, 0)
  const right = `${clock}${every} · Ctrl-C quits`
  lines.push([...title, [' '.repeat(Math.max(2, o.width - titleWidth - right.length))], [right, 'dim']])
  lines.push(rule)

  // step and weight
  const s = run.step
  const stepText = s.index >= 0 ? `step ${s.index + 1}/${s.count} (${pct(s.weight)})` : 'before step 1'
  const bake = run.state === 'baking' && s.bakeEndsAt ? `  bake ends ${ago(s.bakeEndsAt, o.now)}` : run.state === 'waiting' ? '  waits for `gray promote`' : ''
  lines.push([[stepText, 'bold'], [bake, run.state === 'waiting' ? 'yellow' : undefined]])
  const g = run.gateway
  const served: Piece = o.reading
    ? ['reading the gateway…', 'dim']
    : g.error
      ? [`unreadable: ${shown(g.error)}`, 'red']
      : [g.appliedWeight === null ? 'nothing published' : pct(g.appliedWeight), g.drift ? 'redBold' : 'bold']
  lines.push([['weight  intended '], [pct(g.intendedWeight), 'bold'], ['  served '], served, g.drift ? ['  DRIFT: the gateway serves another revision', 'redBold'] : ['']])
  lines.push([['steps   '], ...stepTrack(run.step.index, run.step.count, run.state)])
  if (run.reason) lines.push([[`reason  ${shown(run.reason)}`, run.state === 'rolled_back' || run.state === 'rolling_back' ? 'red' : 'yellow']])
  if (run.guard) lines.push([['guard   '], [shown(guardText(run.guard)), 'green']])

  // hosts by version
  lines.push([['hosts', 'bold']])
  const byVersion = new Map<string, typeof run.hosts>()
  for (const h of run.hosts) {
    const key = h.deploying ? `→ ${h.deploying}` : (h.version ?? '?')
    byVersion.set(key, [...(byVersion.get(key) ?? []), h])
  }
  for (const [version, hosts] of byVersion) {
    const bad = hosts.filter((h) => h.healthy === false).length
    const names = hosts.map((h) => h.name).join(', ')
    const style: Style | undefined = version.startsWith('→') ? 'yellow' : version === run.version ? 'cyan' : undefined
    const count = `${hosts.length} host${hosts.length === 1 ? '' : 's'}${bad ? `, ${bad} unhealthy` : ''}`
    lines.push([[`  ${cut(version, 12).padEnd(12)} `, style], [`${count.padEnd(11)} `, bad ? 'red' : 'dim'], [names]])
  }

  // gates
  if (run.gates.length) {
    const trendWidth = Math.max(8, Math.min(30, o.width - 58))
    lines.push([['gates', 'bold'], [`${' '.repeat(18)}${'verdict'.padEnd(9)} ${'value'.padStart(9)} ${'limit'.padEnd(10)} trend`, 'dim']])
    for (const gate of run.gates) {
      const side = o.directions?.[gate.name] === 'min' ? '≥' : '≤'
      const verdict = gate.verdict ?? 'waiting'
      const value = gate.value === null ? '-' : fmt(gate.value)
      const limit = gate.limit === null ? '-' : `${side} ${fmt(gate.limit)}`
      lines.push([
        [`  ${cut(gate.name, 20).padEnd(20)} `],
        [verdict.padEnd(9), VERDICT_STYLE[verdict] ?? 'dim'],
        [` ${value.padStart(9)} `, gate.verdict === 'fail' ? 'red' : 'bold'],
        [`${limit.padEnd(10)} `, 'dim'],
        [trendline(gate.trend, gate.limit, trendWidth).padEnd(trendWidth), 'cyan'],
        [` ${gate.passes}✓`, 'dim'],
      ])
    }
  }

  const driver = run.driver
  const who: Line = driver
    ? [['driver  '], [`${driver.kind === 'agent' ? 'agent ' : ''}${driver.user}@${driver.host} pid ${driver.pid} `], driver.alive ? ['alive', 'green'] : run.guarded === false ? ['not running — UNGUARDED', 'red'] : ['not running', 'dim']]
    : [['driver  '], ['none — nothing drives this run', 'dim']]
  const footer: Line[] = [[['events', 'bold']]]
  // the terminal's last row stays free for the cursor; passing gate measurements are in the gates section already
  const room = Math.max(1, o.height - 1 - lines.length - footer.length - 2)
  const events = doc.events.filter((e) => !(e.type === 'gate.measured' && / pass /.test(` ${e.summary.split(':')[1] ?? ''} `))).slice(-room)
  const eventLines: Line[] = events.map((e) => {
    const loud = /ROLLING BACK|ROLLBACK|failed/.test(e.summary)
    return [[`  ${e.at.slice(11, 19)} `, 'dim'], [shown(e.summary), loud ? 'red' : undefined]]
  })
  lines.push(...footer, ...eventLines, rule, who)
  return lines.map((l) => paint(l, o.width, o.color))
}

function stepTrack(index: number, count: number, state: string): Piece[] {
  const pieces: Piece[] = []
  for (let i = 0; i < count; i++) {
    const done = i < index || state === 'completed'
    const here = i === index && state !== 'completed'
    const failed = here && (state === 'rolled_back' || state === 'rolling_back' || state === 'failed')
    pieces.push([done ? '■' : here ? '▶' : '□', failed ? 'red' : done ? 'green' : here ? 'cyan' : 'dim'], [' '])
  }
  return pieces
}
