import chalk from 'chalk'

import {fmt} from '../core/gates/judge.js'
import {readLine} from '../core/config/inventory.js'
import type {Plan} from '../core/plan.js'

const duration = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${fmt(ms / 1000)}s`)
const names = (hosts: Array<{name: string}>) => hosts.map((h) => h.name).join(', ') || 'none'

export function renderPlan(plan: Plan): string {
  const out: string[] = []
  out.push(chalk.bold(`Plan: ${plan.service} ${plan.previousVersion ?? '(unknown)'} → ${plan.version}`))
  for (const r of plan.inventory ?? []) out.push(readLine(r))
  for (const w of plan.warnings) out.push(chalk.yellow(`warning: ${w}`))
  // a run of kind config (docs/config-release.md): no hosts, the steps write keys in the config store
  const configRun = plan.completion.policy.release !== undefined
  const what = configRun ? 'in the config store' : 'gateway policy'
  if (configRun) out.push('', `1. nothing to deploy: ${plan.version} is a configuration value`)
  else out.push('', `1. deploy ${plan.version} to the gray pool: ${names(plan.grayPool)} (health-checked)`)
  for (const step of plan.steps) {
    out.push('', chalk.bold(`${step.index + 2}. step ${step.index + 1}: ${fmt(step.weight)}% ${configRun ? 'of users read the gray value' : 'to gray'}, ${stepTiming(step)}`))
    if (step.newHosts.length) out.push(`   first deploy ${plan.version} to ${names(step.newHosts)} (drained from stable first)`)
    if (!configRun) out.push(`   gray upstream: ${names(step.grayHosts)}; stable upstream: ${names(step.stableHosts)}`)
    out.push(`   ${what}:`, ...step.native.split('\n').map((l) => `     ${l}`))
  }
  if (configRun) out.push('', chalk.bold(`${plan.steps.length + 2}. complete: promote the gray value to the official key`))
  else out.push('', chalk.bold(`${plan.steps.length + 2}. complete: deploy ${plan.version} to ${names(plan.completion.hosts)}, then the plain policy (no split, no rules)`))
  out.push(`   ${what}:`, ...plan.completion.native.split('\n').map((l) => `     ${l}`))
  if (plan.gates) {
    out.push('', chalk.bold(`gates, measured every ${duration(plan.gates.intervalMs)}:`))
    for (const c of plan.gates.checks) {
      const limit = c.max !== undefined ? `max ${c.max}` : c.min !== undefined ? `min ${c.min}` : 'no limit'
      if (c.judge === 'sequential') {
        out.push(`   ${c.name} (${c.source}): sequential test, ${limit}${c.baseline ? `, ≤ ${c.baseline.maxIncrease}x stable` : ''}, α ${c.alpha ?? 0.01}, ${c.minPasses} passes per step, rollback as soon as the evidence reaches 1/α`)
        continue
      }
      out.push(`   ${c.name} (${c.source}): ${limit}${c.baseline ? `, ≤ ${c.baseline.maxIncrease}x stable` : ''}, ${c.minPasses} passes per step, rollback after ${c.critical ? '1 fail (critical)' : `${c.failures} fails in a row`}`)
    }
  }
  if (configRun) out.push('', 'rollback at any point: the policy at weight 0 and no rules first, then the gray value and the policy deleted; the official key is never touched')
  else out.push('', `rollback at any point: weight 0 and no rules first, then every host that got ${plan.version} back to ${plan.previousVersion ?? 'the previous version (pass --previous-version)'}`)
  if (plan.config) {
    const reads = plan.config.reads.length > 0 ? `, reading ${plan.config.reads.map((name) => `\${${name}}`).join(' ')} from the environment of whichever machine drives it` : ''
    out.push('', `config ${plan.config.hash.slice(0, 12)}: the run keeps it in its journal${reads}; a gray.yaml edited later is used only with --adopt-config`)
  }
  return out.join('\n')
}

/** A pause step without a bake waits at once; with one, it bakes and then waits. */
export function stepTiming(step: {bakeMs: number; pause: boolean}): string {
  if (step.pause && step.bakeMs === 0) return 'wait for `gray promote` as soon as the weight is confirmed (no bake)'
  return `bake ${duration(step.bakeMs)}${step.pause ? ', then wait for `gray promote`' : ''}`
}
