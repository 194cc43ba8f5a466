// `gray status` for people: what on-call needs at 3 a.m., top to bottom.
import chalk from 'chalk'

import {fmt} from '../core/gates/judge.js'
import {holdText} from '../core/run/summary.js'
import type {RunGuard, StatusDocument} from '../services/status.js'
import {shown} from '../core/redact.js'

const BARS = '▁▂▃▄▅▆▇█'

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001F\u007F-\u009F]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function sparkline(values: Array<number | null>): string {
  const nums = values.filter((v): v is number => v !== null && Number.isFinite(v))
  if (nums.length === 0) return ''
  const lo = Math.min(...nums)
  const hi = Math.max(...nums)
  return values
    .map((v) => (v === null || !Number.isFinite(v) ? ' ' : BARS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1))]))
    .join('')
}

const STATE_COLOR: Record<string, (s: string) => string> = {
  completed: chalk.green,
  rolled_back: chalk.red,
  rolling_back: chalk.red.bold,
  failed: chalk.red,
  paused: chalk.yellow,
  waiting: chalk.yellow,
}

export function renderStatus(doc: StatusDocument, options: {trend: boolean}): string {
  const run = doc.run
  if (!run) return `${doc.service}: no run yet`
  const out: string[] = []
  const color = STATE_COLOR[run.state] ?? chalk.cyan
  out.push(`${chalk.bold(doc.service)} ${run.previousVersion ?? '?'} → ${chalk.bold(run.version)}  ${color(run.state.toUpperCase())}  run ${run.id}`)
  if (run.reason) out.push(`  reason: ${shown(run.reason)}`)
  for (const w of run.warnings) out.push(chalk.yellow(`  warning: ${shown(w)}`))
  const step = run.step.index >= 0 ? `step ${run.step.index + 1}/${run.step.count} (${fmt(run.step.weight ?? 0)}%)` : 'before step 1'
  const bake = run.step.bakeEndsAt && run.state === 'baking' ? `, bake ends ${run.step.bakeEndsAt.slice(11, 19)}` : ''
  out.push(`  ${step}${bake}`)
  const g = run.gateway
  const applied = g.error ? chalk.red(`unreadable: ${shown(g.error)}`) : g.appliedWeight === null ? 'nothing published' : `${fmt(g.appliedWeight)}%`
  out.push(`  gateway: intended ${g.intendedWeight === null ? '-' : `${fmt(g.intendedWeight)}%`}, serving ${applied}${g.drift ? chalk.red.bold('  DRIFT: the gateway serves another revision than the journal says') : ''}`)
  for (const i of g.instances ?? []) {
    // what an instance says is peer text: no control character reaches the terminal
    const serving = i.error ? chalk.red(`unreadable: ${printable(shown(i.error))}`) : i.revision === null ? 'nothing published' : `${fmt(i.appliedWeight ?? 0)}% (revision ${printable(shown(i.revision))})`
    out.push(`    ${printable(shown(i.name))}: ${serving}${i.drift ? chalk.red.bold('  DRIFT') : ''}`)
  }
  if (run.cohortSeed) out.push(`  cohort seed: ${run.cohortSeed}`)
  if (run.state === 'waiting' && !run.guard) out.push(chalk.yellow('  gates are not watched while the run waits for `gray promote`'))
  if (run.guard) out.push(chalk.green(`  guarded: ${shown(guardText(run.guard))}`))
  out.push('  hosts:')
  for (const h of run.hosts) {
    const state = h.deploying ? chalk.yellow(`deploying ${h.deploying}`) : h.healthy === false ? chalk.red(`unhealthy${h.error ? `: ${shown(h.error)}` : ''}`) : ''
    out.push(`    ${h.name.padEnd(16)} ${(h.version ?? '?').padEnd(10)} ${h.pool.padEnd(6)} ${state}`)
  }
  if (run.gates.length) out.push('  gates:')
  for (const gate of run.gates) {
    const v = gate.verdict
    const c = v === 'pass' ? chalk.green : v === 'fail' ? chalk.red : chalk.yellow
    const value = gate.value === null ? '-' : fmt(gate.value)
    const base = gate.baseline === null ? '' : ` stable ${fmt(gate.baseline)}`
    const trend = options.trend ? ` ${sparkline(gate.trend)}` : ''
    out.push(`    ${gate.name.padEnd(20)} ${c((v ?? 'not measured').padEnd(8))} ${value} (limit ${gate.limit ?? '-'}${base}, ${gate.samples ?? '-'} samples)${trend}`)
  }
  const adopted = run.config?.adopted
  if (adopted) out.push(`  config: ${adopted.hash.slice(0, 12)}, adopted by ${shown(adopted.by)} at ${adopted.at.slice(11, 19)} (changed: ${adopted.changed.map((k) => shown(k)).join(', ')})`)
  const d = run.driver
  const who = d ? (d.kind === 'agent' ? `agent on ${d.host} (pid ${d.pid}, ${d.user})` : `${d.kind ? `${d.kind} ` : ''}${d.user}@${d.host} pid ${d.pid}`) : ''
  out.push(`  driver: ${d ? `${who} ${d.alive ? chalk.green('alive') : chalk.dim('not running')}` : 'none'}`)
  if (run.guarded === false) out.push(chalk.red.bold(`  ${unguardedLine(run.version)}`))
  if (doc.events.length) out.push('  recent events:')
  for (const e of doc.events) out.push(`    ${e.at.slice(11, 19)} ${shown(e.summary)}`)
  return out.join('\n')
}

/** What a guard does, as a sentence: the hold, and the gates still measured (or why nothing is). */
export function guardText(g: RunGuard): string {
  const last = g.lastMeasuredAt ? ` (last ${g.lastMeasuredAt.slice(11, 19)})` : ''
  return g.intervalMs === null
    ? `${holdText(g.reason)}; nothing to guard: ${g.unmeasured ?? 'nothing is measured'}; the driver acts on a request at once`
    : `${holdText(g.reason)}; gates still measured every ${fmt(g.intervalMs / 1000)}s at ${fmt(g.weight)}%${last}, a failing gate rolls back`
}

/** What status says, loudly, of a run that is not finished and that no live driver holds. */
export function unguardedLine(version: string): string {
  return `UNGUARDED: no live driver holds this run; no gate is measured and nothing rolls it back by itself (\`gray start --version ${version}\` or \`gray resume\` drives it on, \`gray rollback\` ends it)`
}
