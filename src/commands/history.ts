import {loadStateContext} from '../services/context.js'
import {historyOf, type HistoryEntry} from '../services/history.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {shown} from '../core/redact.js'
import {serviceFlag} from '../ui/state-flags.js'

export default class History extends GrayCommand {
  static override summary = 'Past runs of this service: version, outcome, duration, reason.'
  static override description = EXIT_CODES_HELP
  static override examples = ['<%= config.bin %> history', '<%= config.bin %> history --json', 'GRAY_DATABASE_URL=postgres://… <%= config.bin %> history --service checkout']
  static override flags = {...serviceFlag}

  async run(): Promise<{service: string; runs: HistoryEntry[]}> {
    const {flags} = await this.parse(History)
    const ctx = await loadStateContext(flags.config, flags.service)
    const runs = await historyOf(ctx)
    if (!this.jsonEnabled()) {
      if (runs.length === 0) this.log(`${ctx.service}: no runs yet`)
      else this.log(`${'STARTED'.padEnd(19)}  ${'VERSION'.padEnd(12)} ${'OUTCOME'.padEnd(12)} ${'TOOK'.padEnd(8)} REASON`)
      for (const r of runs) {
        const took = r.durationMs === null ? 'running' : `${Math.round(r.durationMs / 1000)}s`
        this.log(`${r.startedAt.slice(0, 19).replace('T', ' ')}  ${r.version.padEnd(12)} ${r.outcome.padEnd(12)} ${took.padEnd(8)} ${shown(r.reason ?? '')}`)
      }
    }
    return this.finish({service: ctx.service, runs}, 0)
  }
}
