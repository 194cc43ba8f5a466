// Live progress of a run on stderr. On a terminal of 80 columns or more: the
// finished phases, each printed once, then ONE block redrawn in place (step,
// weight intended and served, hosts, each gate against its limit with its
// trend, the last events). Plain timestamped lines without a terminal or under
// 80 columns; nothing under --json. Everything here only watches: it is called
// through the observer hub (services/observers.ts), never throws into the
// driver, never installs a signal handler, and end() is bounded.
import chalk from 'chalk'

import type {Check} from '../core/config/model.js'
import {count, fmt, isRatio} from '../core/gates/judge.js'
import type {JournalEvent} from '../core/ports.js'
import {summarize} from '../core/run/summary.js'
import type {RunState} from '../core/run/state.js'
import {cut, fitLine, trendline} from './board.js'
import {shown} from '../core/redact.js'

export interface Progress {
  observe(event: JournalEvent, state: RunState): void
  /** draws the last frame; resolves at once (never waits on anything outside) */
  end(state: RunState | null): Promise<void>
  /** a prompt takes the screen: stop drawing until resume() */
  suspend(): void
  resume(): void
  /** a line for the person, printed above the live block (never through it) */
  note(line: string): void
  /** the config's checks, when they are known only after the progress was made (the demo) */
  setChecks(checks: readonly Check[]): void
}

export interface ProgressOptions {
  json: boolean
  /** the config's checks: which gates are ratios (shown as percentages) and their direction */
  checks?: readonly Check[]
  /** the block's last line: what Ctrl-C does here (none when not told) */
  ctrlC?: string
}

const MIN_COLUMNS = 80

export function createProgress(options: ProgressOptions): Progress {
  if (options.json) return {observe: () => undefined, end: async () => undefined, suspend: () => undefined, resume: () => undefined, setChecks: () => undefined, note: (line) => void process.stderr.write(`${line}\n`)}
  const err = process.stderr
  if (err.isTTY && !process.env.CI && (err.columns ?? 0) >= MIN_COLUMNS) return new LiveProgress(err, gateStyles(options.checks ?? []), Date.now, options.ctrlC)
  return new LineProgress()
}

const QUIET = new Set(['driver.attached'])

export class LineProgress implements Progress {
  /** each check's last verdict while guarding: a guard's measurement is printed only when its verdict changes */
  private readonly guarded = new Map<string, string>()

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  observe(event: JournalEvent): void {
    if (QUIET.has(event.type)) return
    if (event.type === 'gate.measured' && event.data.guard === true) {
      // a night of guarding is a few lines in a CI log, not one per interval; the journal keeps every measurement
      const check = String(event.data.check)
      const verdict = String(event.data.verdict)
      if (this.guarded.get(check) === verdict) return
      this.guarded.set(check, verdict)
    } else if (event.type === 'driver.guarding') this.guarded.clear()
    const time = event.at.slice(11, 19)
    const text = shown(summarize(event))
    const loud = event.type === 'rollback.started' || (event.type === 'gateway.publish.failed' && event.data.purpose === 'rollback')
    this.write(`${time} ${loud ? chalk.red.bold(text) : text}`)
  }

  async end(): Promise<void> {}
  suspend(): void {}
  resume(): void {}
  setChecks(): void {}
  note(line: string): void {
    this.write(line)
  }
}

/** How each gate's numbers read: ratios (errors/total, crash-free rates) as percentages. */
export interface GateStyle {
  ratio: boolean
  side: '≤' | '≥'
}

export function gateStyles(checks: readonly Check[]): Record<string, GateStyle> {
  return Object.fromEntries(checks.map((c) => [c.name, {ratio: isRatio(c), side: c.max !== undefined ? '≤' : '≥'}]))
}

export function gateNumber(value: number | null, ratio: boolean): string {
  if (value === null || !Number.isFinite(value)) return '-'
  return ratio ? `${fmt(value * 100)}%` : fmt(value)
}

/** The hint for drivers: on a terminal Ctrl-C asks, else it pauses. */
export function ctrlCHint(asks: boolean): string {
  return asks ? 'asks: keep going, roll back now, or pause and leave' : 'pauses once the step in progress settles'
}

export const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`

/** The phases of a run as the view lists them: deploy, each step, completion. */
export function phaseTitles(state: RunState): string[] {
  return [
    `Deploy ${state.version} to the gray pool`,
    ...state.steps.map((s, i) => `Step ${i + 1}/${state.steps.length} · ${fmt(s.weight)}% to gray${s.pause ? ' · waits for promote' : ''}`),
    'Complete: roll out to every host, plain policy',
  ]
}

/** Which phase the run is in: 0 deploy, 1..n the steps, n+1 completion. */
export function phaseOf(state: RunState): number {
  return state.completing || state.status === 'completed' ? state.steps.length + 1 : state.stepIndex + 1
}

type Tone = 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'bold' | 'redBold'
const TONES: Record<Tone, (t: string) => string> = {
  dim: chalk.dim,
  red: chalk.red,
  green: chalk.green,
  yellow: chalk.yellow,
  cyan: chalk.cyan,
  bold: chalk.bold,
  redBold: chalk.red.bold,
}

/** One line of plain text cut to the width, then coloured (so cutting never splits an escape). */
type Piece = [text: string, tone?: Tone]
function paint(pieces: Piece[], width: number): string {
  return fitLine(pieces, width, (part, tone) => TONES[tone](part))
}

function ago(untilMs: number, now: number): string {
  const s = Math.max(0, Math.round((untilMs - now) / 1000))
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

export interface BlockOptions {
  width: number
  now: number
  styles: Record<string, GateStyle>
  /** the last events, already summarised: [time, text, loud] */
  events: Array<[string, string, boolean]>
  /** what Ctrl-C does, for the last line */
  ctrlC?: string
}

/** The block redrawn in place: what the run does now. Pure, for tests. */
export function renderBlock(state: RunState, o: BlockOptions): string[] {
  const lines: Piece[][] = []
  const titles = phaseTitles(state)
  const phase = Math.min(phaseOf(state), titles.length - 1)
  const step = state.steps[state.stepIndex]
  let head: Piece[]
  if (state.rollback) head = [['↩ ROLLING BACK', 'redBold'], [`: ${shown(state.rollback.reason)}`, 'red']]
  // only narrow glyphs in the block: a wide one would wrap a full line and throw the redraw off by a row
  else if (state.paused) head = [[`‖ ${titles[phase]}`, 'yellow'], [` · paused: ${shown(state.paused.reason)}`, 'yellow'], guardPiece(state)]
  else if (state.waiting) head = [[`‖ ${titles[phase]}`, 'yellow'], [' · waiting for `gray promote`', 'yellow'], guardPiece(state)]
  else {
    const bakeEnd = state.bakeStartedAt && step && phase >= 1 && phase <= state.steps.length ? Date.parse(state.bakeStartedAt) + step.bakeMs : null
    const doing = state.status === 'deploying' ? 'deploying' : bakeEnd !== null ? (o.now < bakeEnd ? `baking, ends in ${ago(bakeEnd, o.now)}` : 'baked; gates decide') : state.status.replace('_', ' ')
    head = [[`▶ ${titles[phase]}`, 'cyan'], [` · ${doing}`]]
  }
  lines.push(head)

  const intended = state.intended ? weightOf(state.intended, state) : null
  const served = state.applied ? weightOf(state.applied, state) : 'nothing yet'
  lines.push([['  weight  intended '], [intended ?? '-', 'bold'], ['  served '], [served, 'bold'], state.publishPending ? ['  (publishing…)', 'yellow'] : ['']])

  const groups = new Map<string, {names: string[]; tone?: Tone}>()
  for (const h of state.hosts) {
    const key = h.pending ? `→ ${h.pending.version}` : h.healthy === false ? `${h.version ?? '?'} (failed)` : (h.version ?? '?')
    const tone: Tone | undefined = h.pending ? 'yellow' : h.healthy === false ? 'red' : h.version === state.version ? 'cyan' : undefined
    const g = groups.get(key) ?? {names: [], tone}
    g.names.push(h.name)
    groups.set(key, g)
  }
  const hostPieces: Piece[] = [['  hosts   ']]
  ;[...groups].forEach(([version, g], i) => hostPieces.push([`${i > 0 ? ' · ' : ''}${version}: `, g.tone], [g.names.join(', ')]))
  lines.push(hostPieces)

  const gates = Object.values(state.gates)
  const nameWidth = Math.min(20, Math.max(6, ...gates.map((g) => [...g.name].length)))
  const trendWidth = Math.max(8, Math.min(24, o.width - 70))
  for (const [i, g] of gates.entries()) {
    const style = o.styles[g.name] ?? {ratio: false, side: '≤'}
    const l = g.last && g.last.step === state.stepIndex ? g.last : null
    const verdict = l?.verdict ?? 'waiting'
    const tone: Tone = verdict === 'pass' ? 'green' : verdict === 'fail' ? 'red' : 'yellow'
    const limit = l?.limit ?? g.last?.limit ?? null
    const samples = l?.samples !== null && l?.samples !== undefined ? ` · ${plural(l.samples, 'sample', 'samples')}` : ''
    const why = l && (verdict === 'no-data' || verdict === 'error') ? ` · ${shown(l.reason)}` : ''
    lines.push([
      [i === 0 ? '  gates   ' : '          '],
      [`${cut(g.name, nameWidth).padEnd(nameWidth)} `],
      [verdict.padEnd(8), tone],
      [` ${gateNumber(l?.value ?? null, style.ratio).padStart(8)} `, verdict === 'fail' ? 'red' : 'bold'],
      [`${limit === null ? '' : `${style.side} ${gateNumber(limit, style.ratio)}`}`.padEnd(9), 'dim'],
      [` ${trendline(g.history, limit, trendWidth).padEnd(trendWidth)}`, 'cyan'],
      [` ${plural(g.passes, 'pass', 'passes')}${samples}${why}`, 'dim'],
    ])
  }

  if (o.events.length > 0) {
    o.events.forEach(([at, text, loud], i) => lines.push([[i === 0 ? '  events  ' : '          '], [`${at} `, 'dim'], [text, loud ? 'red' : undefined]]))
  }
  if (o.ctrlC) lines.push([[state.rollback ? '  Ctrl-C: the rollback goes on until traffic is back on stable' : `  Ctrl-C ${o.ctrlC}`, 'dim']])
  return lines.map((l) => paint(l, o.width))
}

/** What this driver does at the hold: gates still measured (it guards it), or why there is nothing to measure. */
function guardPiece(state: RunState): Piece {
  const g = state.guarding
  if (!g) return ['']
  if (g.intervalMs === null) return [`; nothing to guard: ${g.unmeasured ?? 'nothing is measured'}`, 'dim']
  return [`; gates still measured every ${fmt(g.intervalMs / 1000)}s`, 'green']
}

function weightOf(p: {mode: string; weightBp: number}, state: RunState): string {
  if (p.mode === 'plain') return state.status === 'completed' || state.completing ? `plain (all on ${state.version})` : 'plain (all on stable)'
  return `${fmt(p.weightBp / 100)}%`
}

const EVENTS_SHOWN = 4
const DRAW_EVERY_MS = 100
const TICK_MS = 1_000

/** The finished phase's line, printed once above the block. */
export function finishedLine(state: RunState, index: number, passedBy: Map<number, string>): string {
  const title = phaseTitles(state)[index] ?? ''
  if (index === 0) {
    const gray = state.hosts.filter((h) => h.pool === 'gray').map((h) => h.name)
    return `${chalk.green('✔')} ${title}: ${gray.join(', ')}`
  }
  if (index <= state.steps.length) {
    const by = passedBy.get(index - 1)
    const gates = Object.values(state.gates)
    const how = by === 'promote' ? 'passed by `gray promote`' : by === 'gates' && gates.length > 0 ? 'gates passed' : 'passed'
    return `${chalk.green('✔')} ${title} · ${how}`
  }
  return `${chalk.green('✔')} ${title}`
}

/** The last line of the phase the run ended in, and the phases it never reached. */
export function endLines(state: RunState, from: number): string[] {
  const titles = phaseTitles(state)
  const at = Math.min(phaseOf(state), titles.length - 1)
  const out: string[] = []
  for (let i = from; i < titles.length; i++) {
    const title = titles[i] as string
    if (state.status === 'completed') out.push(`${chalk.green('✔')} ${title}`)
    else if (i < at) out.push(`${chalk.green('✔')} ${title}`)
    else if (i === at) {
      if (state.status === 'rolled_back') out.push(chalk.red(`✖ ${title} · rolled back: ${shown(state.reason ?? '')}`))
      else if (state.status === 'failed') out.push(chalk.red(`✖ ${title} · failed: ${shown(state.reason ?? '')}`))
      else if (state.status === 'rolling_back') out.push(chalk.red(`✖ ${title} · rolling back: ${shown(state.rollback?.reason ?? '')}`))
      else if (state.paused) out.push(chalk.yellow(`⏸ ${title} · paused: ${shown(state.paused.reason)}`))
      else if (state.waiting) out.push(chalk.yellow(`⏸ ${title} · waits for \`gray promote\``))
      else out.push(chalk.yellow(`⏸ ${title} · ${state.status.replace('_', ' ')}`))
    } else out.push(chalk.dim(`· ${title} · ${state.status === 'rolled_back' || state.status === 'rolling_back' ? 'skipped: rolled back' : 'not reached'}`))
  }
  return out
}

/** The in-place view: permanent lines for finished phases, one block redrawn below them. */
export class LiveProgress implements Progress {
  private state: RunState | null = null
  private printed = 0
  private drawn = 0
  private events: Array<[string, string, boolean]> = []
  private passedBy = new Map<number, string>()
  private timer: NodeJS.Timeout | null = null
  private ticker: NodeJS.Timeout | null = null
  private suspended = false
  private ended = false
  private broken = false

  constructor(
    private readonly out: NodeJS.WriteStream,
    private styles: Record<string, GateStyle> = {},
    private readonly now: () => number = Date.now,
    private readonly ctrlC?: string,
  ) {}

  observe(event: JournalEvent, state: RunState): void {
    if (this.ended || this.broken) return
    this.state = state
    if (event.type === 'step.passed') this.passedBy.set(Number(event.data.index), String(event.data.by))
    const passing = event.type === 'gate.measured' && event.data.verdict === 'pass'
    if (!QUIET.has(event.type) && !passing) {
      const loud = event.type === 'rollback.started' || event.type === 'run.rolled_back' || /failed/.test(event.type) || (event.type === 'gate.measured' && event.data.verdict === 'fail')
      this.events.push([event.at.slice(11, 19), shown(summarize(event)), loud])
      if (this.events.length > EVENTS_SHOWN) this.events.shift()
    }
    this.schedule()
  }

  setChecks(checks: readonly Check[]): void {
    this.styles = gateStyles(checks)
  }

  note(line: string): void {
    this.safely(() => {
      this.clear()
      this.out.write(`${line}\n`)
    })
    this.schedule()
  }

  suspend(): void {
    if (this.suspended) return
    this.suspended = true
    this.safely(() => this.clear())
  }

  resume(): void {
    if (!this.suspended) return
    this.suspended = false
    this.schedule()
  }

  async end(state: RunState | null): Promise<void> {
    if (this.ended) return
    this.ended = true
    this.stopTimers()
    const last = state ?? this.state
    this.safely(() => {
      this.clear()
      if (last && last.steps) this.out.write(endLines(last, this.printed).map((l) => `${l}\n`).join(''))
    })
  }

  private schedule(): void {
    if (this.timer || this.suspended || this.ended) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.safely(() => this.draw())
    }, DRAW_EVERY_MS)
    this.timer.unref()
    if (!this.ticker) {
      this.ticker = setInterval(() => this.schedule(), TICK_MS)
      this.ticker.unref()
    }
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.ticker) clearInterval(this.ticker)
    this.timer = this.ticker = null
  }

  /** A display that cannot draw goes quiet; the run does not notice. */
  private safely(f: () => void): void {
    try {
      f()
    } catch {
      this.broken = true
      this.stopTimers()
    }
  }

  // cursor up (CSI A) and erase (CSI J, K) only: the output door (core/redact.ts safeOutput) lets these pass
  private clear(): void {
    if (this.drawn > 0) this.out.write(`\r\x1b[${this.drawn}A\x1b[J`)
    this.drawn = 0
  }

  private draw(): void {
    const s = this.state
    if (!s || this.suspended || this.ended) return
    const width = Math.max(20, (this.out.columns || 80) - 2)
    const rows = this.out.rows || 30
    let text = ''
    // phases the run has gone past are printed once, above the block
    const upTo = Math.min(phaseOf(s), s.steps.length + 1)
    const finished: string[] = []
    for (; this.printed < upTo; this.printed++) finished.push(finishedLine(s, this.printed, this.passedBy))
    const block = renderBlock(s, {width, now: this.now(), styles: this.styles, events: this.events, ctrlC: this.ctrlC}).slice(0, Math.max(3, rows - 2))
    // the cursor stays visible: a process killed by a signal could not show it again
    if (this.drawn > 0) text += `\r\x1b[${this.drawn}A\x1b[J`
    text += finished.map((l) => `${l}\n`).join('')
    text += block.map((l) => `${l}\x1b[K\n`).join('')
    this.out.write(text)
    this.drawn = block.length
  }
}
