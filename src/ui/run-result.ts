// What a command that drove (or steered) a run prints at its end.
import chalk from 'chalk'

import type {RunState} from '../core/run/state.js'
import {shown} from '../core/redact.js'

export function describeEnd(s: Pick<RunState, 'status' | 'version' | 'reason' | 'warnings' | 'stepIndex' | 'release'>, service: string): string {
  switch (s.status) {
    case 'completed':
      if (s.release) return chalk.green(`✔ ${service} ${s.version} completed: ${s.release.key} holds the new value, the gray value and its policy are gone`)
      return chalk.green(`✔ ${service} ${s.version} completed: every host runs it and the gateway is back to its plain policy`)
    case 'rolled_back': {
      const lines = [chalk.red(`✖ ${service} ${s.version} rolled back: ${shown(s.reason ?? '')}`)]
      for (const w of s.warnings) lines.push(chalk.yellow(`  warning: ${shown(w)}`))
      return lines.join('\n')
    }
    case 'waiting':
      return chalk.yellow(`⏸ step ${s.stepIndex + 1} waits: run \`gray promote\` to go on, or \`gray rollback\``)
    case 'paused':
      return chalk.yellow(`⏸ paused: ${shown(s.reason ?? '')}\n  run \`gray resume\` to go on, or \`gray rollback\``)
    default:
      return `${service} ${s.version}: ${s.status}${s.reason ? ` (${shown(s.reason)})` : ''}`
  }
}
