import {Flags} from '@oclif/core'

import {ConfigError, ExitCode} from '../core/errors.js'
import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {serviceFlag} from '../ui/state-flags.js'

export default class Status extends GrayCommand {
  static override summary = 'The run as it is: step, weight intended and served, hosts, gates, recent events, who drives it.'
  static override description = `Reads the journal without taking the lock and asks the gateway what it serves. With no run, prints so and exits 0.
--watch redraws a live board (fits 80 columns; NO_COLOR turns colour off) until Ctrl-C, then exits 0.
--wait blocks until the run ends and exits with the run's code (0 completed, 3 rolled back, 1 failed); with --timeout,
a run still going when it expires exits 4. A run that needs a driver and has none alive (it crashed) will not end by itself:
--wait says so and exits 4. On a terminal it shows what it waits for on one line, redrawn.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --wait --timeout 30m',
  ]
  static override flags = {
    watch: Flags.boolean({summary: 'Redraw a live board every second until Ctrl-C.', exclusive: ['wait']}),
    wait: Flags.boolean({summary: 'Block until the run reaches a terminal state, then exit with its code.'}),
    timeout: Flags.string({summary: 'With --wait: give up after this long (e.g. 30m); exits 4 if the run has not ended.', dependsOn: ['wait']}),
    events: Flags.integer({summary: 'How many recent events to show.', default: 10, min: 0}),
    ...serviceFlag,
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Status)
    if (flags.watch && this.jsonEnabled()) throw new ConfigError('--watch draws for people and cannot be combined with --json', 'use --json alone, or --wait --json to block until the run ends')
    const limit = flags.timeout ? await parseDuration(flags.timeout) : Infinity
    const {statusContext, statusOf, waitForEnd} = await import('../services/status.js')
    if (flags.watch) {
      // the first frame at once, from the light config; each gate's direction comes with the whole config
      const [{watchStatus}, ctx] = await Promise.all([import('../ui/watch-status.js'), statusContext(flags.config, flags.service)])
      return this.finish(await watchStatus(ctx, statusOf, ctx.config ? flags.config : undefined), ExitCode.ok)
    }
    const ctx = await statusContext(flags.config, flags.service)
    const line = flags.wait ? waitingLine(this.jsonEnabled()) : null
    const {doc, code, unguarded} = flags.wait
      ? await waitForEnd(ctx, {events: flags.events, timeoutMs: limit, onPoll: (d) => line?.show(d)}).finally(() => line?.done())
      : {doc: await statusOf(ctx, {events: flags.events}), code: ExitCode.ok, unguarded: undefined}
    if (unguarded && doc.run) {
      const d = doc.run.driver
      const gone = d ? `its driver (${d.user}@${d.host}, pid ${d.pid}) is gone` : 'no driver holds it'
      this.note(`gray: stopped waiting: ${ctx.service}'s run of ${doc.run.version} is UNGUARDED (${doc.run.state}): ${gone}, so it will not end by itself`)
      this.note(`  \`gray start --version ${doc.run.version}\` takes it over and drives it on, or \`gray rollback\` ends it`)
    }
    if (this.jsonEnabled() && doc.run?.guarded === false && !unguarded) {
      // stdout is the document (guarded: false); a person reading stderr sees it too
      const {unguardedLine} = await import('../ui/status.js')
      this.note(`gray: ${doc.service}: ${unguardedLine(doc.run.version)}`)
    }
    if (!this.jsonEnabled()) {
      const {renderStatus} = await import('../ui/status.js')
      this.log(renderStatus(doc, {trend: Boolean(process.stdout.isTTY)}))
    }
    return this.finish(doc, code as 0)
  }
}

async function parseDuration(text: string): Promise<number> {
  const {default: ms} = await import('ms')
  const value = Number(ms(text as Parameters<typeof ms>[0]))
  if (!(value > 0)) throw new ConfigError(`--timeout: must be a duration like 30s or 30m, got "${text}"`)
  return value
}

/** On a terminal (stderr), one line saying what --wait waits for, redrawn in place; nothing otherwise. */
function waitingLine(json: boolean): {show(doc: StatusDocument): void; done(): void} | null {
  if (json || !process.stderr.isTTY) return null
  const started = Date.now()
  let shown = false
  const width = () => Math.max(20, (process.stderr.columns || 80) - 1)
  return {
    show(doc) {
      const r = doc.run
      if (!r) return
      const step = r.step.weight === null ? '' : ` at step ${r.step.index + 1}/${r.step.count} (${r.step.weight}%)`
      const driver = r.driver ? (r.driver.alive ? `driver pid ${r.driver.pid} alive` : `driver pid ${r.driver.pid} NOT alive`) : 'no driver'
      const text = `waiting for ${doc.service} ${r.version} to end: ${r.state}${step}; ${driver}; ${Math.round((Date.now() - started) / 1000)}s`
      process.stderr.write(`\r${text.slice(0, width())}\x1b[K`)
      shown = true
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K')
    },
  }
}
