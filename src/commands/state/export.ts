import {createWriteStream} from 'node:fs'
import {Flags} from '@oclif/core'

import {ConfigError} from '../../core/errors.js'
import {exportState, stateTarget, type ExportSummary} from '../../services/state.js'
import {EXIT_CODES_HELP, GrayCommand} from '../../ui/base.js'
import {stateFlags} from '../../ui/state-flags.js'

export default class StateExport extends GrayCommand {
  static override summary = 'Write a service\'s whole history (runs and their events) as NDJSON, to move it to another backend.'
  static override description = `Reads every run of the service from its state backend (gray.yaml's, or --backend) and
writes it as NDJSON: a header line, then per run a run line and its events in seq order.
\`gray state import\` reads it back into any backend.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> state export --output shop.ndjson',
    '<%= config.bin %> state export --backend local | <%= config.bin %> state import - --backend postgres',
  ]
  static override flags = {
    ...stateFlags,
    output: Flags.string({char: 'o', summary: 'File to write (default: stdout).'}),
  }

  async run(): Promise<ExportSummary> {
    const {flags} = await this.parse(StateExport)
    if (this.jsonEnabled() && !flags.output) throw new ConfigError('--json needs --output FILE: without it stdout carries the export itself')
    const target = await stateTarget(flags)
    const out = flags.output ? createWriteStream(flags.output, {flags: 'wx', mode: 0o600}) : process.stdout
    const write = (line: string) => (out.write(line) ? undefined : new Promise<void>((done) => out.once('drain', () => done())))
    let result: ExportSummary
    try {
      result = await exportState(target, write)
    } finally {
      if (out !== process.stdout) await new Promise<void>((done, fail) => (out as ReturnType<typeof createWriteStream>).end((error?: Error | null) => (error ? fail(error) : done())))
    }
    if (!this.jsonEnabled()) this.note(`exported ${result.runs} run${result.runs === 1 ? '' : 's'} (${result.events} events) of ${result.service} from ${result.where}${flags.output ? ` to ${flags.output}` : ''}`)
    return this.finish(result, 0)
  }
}
