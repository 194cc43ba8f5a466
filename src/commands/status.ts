import {Flags} from '@oclif/core'
import {setTimeout as delay} from 'node:timers/promises'

import {ConfigError, ExitCode} from '../core/errors.js'
import {exitCodeOf} from '../core/run/driver.js'
import {loadContext} from '../services/context.js'
import {statusOf, type StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {renderStatus} from '../ui/status.js'

const TERMINAL = ['completed', 'rolled_back', 'failed']

export default class Status extends GrayCommand {
  static override summary = 'The run as it is: step, weight intended and served, hosts, gates, recent events, who drives it.'
  static override description = `Reads the journal without taking the lock and asks the gateway what it serves. With no run, prints so and exits 0.
--wait blocks until the run ends and exits with the run's code (0 completed, 3 rolled back, 1 failed).

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json', '<%= config.bin %> status --wait --timeout 30m']
  static override flags = {
    wait: Flags.boolean({summary: 'Block until the run reaches a terminal state, then exit with its code.'}),
    timeout: Flags.string({summary: 'With --wait: give up after this long (e.g. 30m); exits 4 if the run has not ended.', dependsOn: ['wait']}),
    events: Flags.integer({summary: 'How many recent events to show.', default: 10, min: 0}),
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Status)
    const ctx = await loadContext(flags.config)
    let doc = await statusOf(ctx, {events: flags.events})
    if (flags.wait) {
      const {default: ms} = await import('ms')
      const limit = flags.timeout ? ms(flags.timeout as Parameters<typeof ms>[0]) : Infinity
      if (flags.timeout && !(Number(limit) > 0)) throw new ConfigError(`--timeout: must be a duration like 30s or 30m, got "${flags.timeout}"`)
      const until = Date.now() + Number(limit)
      while (doc.run && !TERMINAL.includes(doc.run.state) && Date.now() < until) {
        await delay(500)
        doc = await statusOf(ctx, {events: flags.events, readBack: false})
      }
      doc = await statusOf(ctx, {events: flags.events})
    }
    if (!this.jsonEnabled()) this.log(renderStatus(doc, {trend: Boolean(process.stdout.isTTY)}))
    const code = !flags.wait || !doc.run ? ExitCode.ok : TERMINAL.includes(doc.run.state) ? exitCodeFor(doc.run.state) : ExitCode.paused
    return this.finish(doc, code)
  }
}

function exitCodeFor(state: string) {
  return exitCodeOf({status: state} as Parameters<typeof exitCodeOf>[0])
}
