// One line per journal event, for `status`, progress output and history.
import type {JournalEvent} from '../ports.js'
import {fmt} from '../gates/judge.js'

const pct = (bp: unknown) => `${fmt(Number(bp) / 100)}%`

const seconds = (ms: unknown) => `${fmt(Number(ms) / 1000)}s`

/** the hold a guard keeps, as people read it */
export function holdText(reason: string): string {
  return reason === WAITING_FOR_PROMOTE ? 'waiting for `gray promote`' : `paused (${reason})`
}

/** the reason of the hold at a step that waits for promote (./next.ts) */
export const WAITING_FOR_PROMOTE = 'waiting for gray promote'

export function summarize(e: JournalEvent): string {
  const d = e.data as Record<string, unknown>
  const s = (k: string) => String(d[k] ?? '')
  switch (e.type) {
    case 'run.started':
      return `run ${s('runId')} of ${s('version')} started (previous ${d.previousVersion ?? 'unknown'})`
    case 'config.adopted': {
      const changed = Array.isArray(d.changed) ? (d.changed as string[]) : []
      return `config adopted by ${s('by')}: gray.yaml's config ${s('hash').slice(0, 12)} drives from here (changed: ${changed.join(', ') || 'nothing'})`
    }
    case 'driver.attached':
      return d.takeover ? `driver ${e.actor.user}@${e.actor.host} pid ${e.actor.pid} took over from ${s('from')}` : `driver ${e.actor.user}@${e.actor.host} pid ${e.actor.pid} attached`
    case 'inventory.changed': {
      const count = (k: string) => (Array.isArray(d[k]) ? (d[k] as unknown[]).length : 0)
      return `INVENTORY CHANGED (hosts.${s('pool')}): ${count('vanished')} host${count('vanished') === 1 ? '' : 's'} of this run vanished from it (kept in the run), ${count('added')} new (not added)`
    }
    case 'inventory.unreadable':
      return `inventory of hosts.${s('pool')} unreadable at takeover: ${s('error')}; driving the frozen hosts`
    case 'driver.detached':
      return `driver detached: ${s('reason')}`
    case 'driver.guarding':
      return d.unmeasured
        ? `${holdText(s('reason'))}; nothing to guard: ${s('unmeasured')} (the driver waits for a request)`
        : `${holdText(s('reason'))}; gates still measured every ${seconds(d.intervalMs)} at ${pct(d.weightBp)} to gray`
    case 'host.deploy.started':
      return `deploying ${s('version')} to ${s('name')} (${s('purpose')}, attempt ${s('attempt')})`
    case 'host.deploy.succeeded':
      return `${s('host')} runs ${s('version')} (${Math.round(Number(d.durationMs) / 100) / 10}s)`
    case 'host.deploy.failed':
      return `deploy of ${s('version')} to ${s('host')} failed: ${s('error')}`
    case 'host.abandoned':
      return `left ${s('name')} behind (within deploy.maxFailPercent): ${s('error')}`
    case 'hook.started':
      return `hook ${s('stage')} (${s('key')}) started`
    case 'hook.ran':
      return d.ok ? `hook ${s('stage')} (${s('key')}) ran` : `hook ${s('stage')} (${s('key')}) ${s('error')}`
    case 'step.started':
      return `step ${Number(d.index) + 1} started: ${s('weight')}%`
    case 'gateway.publish.started':
      return d.mode === 'plain' ? `publishing plain policy (${s('purpose')})` : `publishing ${pct(d.weightBp)} to gray (${s('purpose')}, ${s('rules')} rule${s('rules') === '1' ? '' : 's'})`
    case 'gateway.publish.confirmed':
      return d.mode === 'plain' ? `gateway serves plain policy ${s('revision')}` : `gateway serves ${pct(d.weightBp)} to gray (revision ${s('revision')})`
    case 'gateway.publish.failed':
      return d.purpose === 'rollback'
        ? `ROLLBACK PUBLISH FAILED (attempt ${s('attempt')}): ${s('error')} — traffic may still reach gray; retrying`
        : `publish failed (attempt ${s('attempt')}): ${s('error')}`
    case 'gate.measured':
      return `gate ${s('check')}: ${s('verdict')} — ${s('reason')}`
    case 'step.passed':
      return `step ${Number(d.index) + 1} passed (${s('by')})`
    case 'step.waiting':
      return `step ${Number(d.index) + 1} waits for \`gray promote\``
    case 'request.received':
      return `${s('kind')} requested by ${s('by')}${d.reason ? `: ${s('reason')}` : ''}`
    case 'run.paused':
      return `paused: ${s('reason')}`
    case 'run.resumed':
      return `resumed by ${s('by')}`
    case 'run.promoted':
      return `promoted${d.full ? ' (full)' : ''} by ${s('by')}`
    case 'rollback.started':
      return `ROLLING BACK: ${s('reason')}`
    case 'rollback.warning':
      return `warning: ${s('message')}`
    case 'run.rolled_back':
      return `rolled back: ${s('reason')}`
    case 'run.completing':
      return `completing: rolling out to the remaining hosts`
    case 'run.completed': {
      const left = Array.isArray(d.failedHosts) ? (d.failedHosts as string[]) : []
      return `completed: ${s('version')} is the current version${left.length > 0 ? `; not on it: ${left.join(', ')}` : ''}`
    }
    case 'run.failed':
      return `failed: ${s('error')}`
    case 'journal.repaired':
      return `journal repaired: dropped a torn last line of ${s('droppedBytes')} bytes`
    default:
      return e.type
  }
}
