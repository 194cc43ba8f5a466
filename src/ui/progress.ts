// Live progress of a run on stderr: listr2 on a TTY (a task per phase, per-host
// deploy lines, live gate values), plain timestamped lines otherwise, nothing under --json.
import chalk from 'chalk'

import {fmt} from '../core/gates/judge.js'
import type {JournalEvent} from '../core/ports.js'
import {summarize} from '../core/run/summary.js'
import type {RunState} from '../core/run/state.js'
import {redact} from './redact.js'

export interface Progress {
  observe(event: JournalEvent, state: RunState): void
  /** resolves once the display has drawn its last frame */
  end(state: RunState | null): Promise<void>
}

export function createProgress(options: {json: boolean}): Progress {
  if (options.json) return {observe: () => undefined, end: async () => undefined}
  if (process.stderr.isTTY && !process.env.CI) return new ListrProgress()
  return new LineProgress()
}

const QUIET = new Set(['driver.attached'])

export class LineProgress implements Progress {
  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  observe(event: JournalEvent): void {
    if (QUIET.has(event.type)) return
    const time = event.at.slice(11, 19)
    const text = redact(summarize(event))
    const loud = event.type === 'rollback.started' || (event.type === 'gateway.publish.failed' && event.data.purpose === 'rollback')
    this.write(`${time} ${loud ? chalk.red.bold(text) : text}`)
  }

  async end(): Promise<void> {}
}

type Phase = {title: string; done: boolean; failed?: string; skipped?: string; detail: string[]}

/** Drives a listr2 task list from journal events: one task per phase of the run. */
export class ListrProgress implements Progress {
  private phases: Phase[] = []
  private current = 0
  private listeners = new Set<() => void>()
  private started: Promise<void> | null = null

  observe(event: JournalEvent, state: RunState): void {
    if (this.phases.length === 0) this.init(state)
    this.update(event, state)
    if (!this.started) this.started = this.render()
    for (const l of this.listeners) l()
  }

  async end(state: RunState | null): Promise<void> {
    if (state) {
      for (const p of this.phases) {
        if (p.done || p.failed) continue
        if (state.status === 'completed') p.done = true
        else p.skipped = state.status === 'rolled_back' ? 'skipped: rolled back' : `not reached: ${state.status}`
      }
    }
    for (const l of this.listeners) l()
    await this.started?.catch(() => undefined)
  }

  private init(state: RunState): void {
    this.phases = [
      {title: `Deploy ${state.version} to the gray pool`, done: false, detail: []},
      ...state.steps.map((s, i) => ({title: `Step ${i + 1}/${state.steps.length} · ${fmt(s.weight)}% to gray${s.pause ? ' · waits for promote' : ''}`, done: false, detail: []})),
      {title: 'Complete: roll out to every host, plain policy', done: false, detail: []},
    ]
  }

  private update(event: JournalEvent, state: RunState): void {
    const phaseOf = state.completing ? this.phases.length - 1 : state.stepIndex + 1
    for (let i = this.current; i < phaseOf; i++) if (this.phases[i]) this.phases[i]!.done = true
    this.current = Math.max(this.current, phaseOf)
    const phase = this.phases[this.current]
    if (!phase) return
    if (event.type === 'rollback.started') phase.failed = `rolling back: ${String(event.data.reason)}`
    if (event.type === 'run.rolled_back') phase.failed = `rolled back: ${String(event.data.reason)}`
    if (event.type === 'run.completed') phase.done = true
    const hosts = state.hosts
      .filter((h) => h.pending || h.pool === 'gray' || h.converted)
      .map((h) => `${h.name} ${h.pending ? chalk.yellow(`deploying ${h.pending.version}`) : h.healthy === false ? chalk.red(`failed: ${h.lastError ?? ''}`) : (h.version ?? '?')}`)
    const gates = Object.values(state.gates).map((g) => {
      const l = g.last
      if (!l || l.step !== state.stepIndex) return `${g.name}: waiting for data`
      const color = l.verdict === 'pass' ? chalk.green : l.verdict === 'fail' ? chalk.red : chalk.yellow
      return `${g.name}: ${color(l.verdict)} ${l.reason} (${g.passes} passes)`
    })
    const weight = state.applied && state.applied.mode === 'split' ? `gateway serves ${fmt(state.applied.weightBp / 100)}%` : ''
    phase.detail = [redact(summarize(event)), weight, hosts.length ? `hosts: ${hosts.join(', ')}` : '', ...gates].filter(Boolean)
  }

  private waitFor(index: number, task: {output: string; title: string}): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const p = this.phases[index]
        if (!p) return resolve()
        task.output = p.detail.join('\n')
        if (p.failed) {
          this.listeners.delete(check)
          reject(new Error(p.failed))
        } else if (p.done || p.skipped) {
          this.listeners.delete(check)
          if (p.skipped) task.title = `${p.title} — ${p.skipped}`
          resolve()
        }
      }
      this.listeners.add(check)
      check()
    })
  }

  private async render(): Promise<void> {
    const {Listr} = await import('listr2')
    const list = new Listr(
      this.phases.map((p, i) => ({
        title: p.title,
        task: (_ctx: unknown, task: {output: string; title: string}) => this.waitFor(i, task),
        rendererOptions: {outputBar: Infinity, persistentOutput: false},
      })),
      {exitOnError: true, rendererOptions: {collapseErrors: false}},
    )
    await list.run()
  }
}
