import type {WriteStream} from 'node:fs'
import {open, unlink, type FileHandle} from 'node:fs/promises'
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
    const out = flags.output ? (await create(flags.output)).createWriteStream() : process.stdout
    const write = (line: string) => (out.write(line) ? undefined : new Promise<void>((done) => out.once('drain', () => done())))
    let result: ExportSummary
    try {
      result = await exportState(target, write)
    } catch (error) {
      // no half export left behind to be imported later as if whole
      if (flags.output) {
        ;(out as WriteStream).destroy()
        await unlink(flags.output).catch(() => undefined)
      }
      throw error
    }
    if (out !== process.stdout) await new Promise<void>((done, fail) => (out as WriteStream).end((error?: Error | null) => (error ? fail(error) : done())))
    if (!this.jsonEnabled()) this.note(`exported ${result.runs} run${result.runs === 1 ? '' : 's'} (${result.events} events) of ${result.service} from ${result.where}${flags.output ? ` to ${flags.output}` : ''}`)
    return this.finish(result, 0)
  }
}

/** the export file, new: an existing file is never overwritten */
async function create(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'wx', 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new ConfigError(`${file} already exists; choose another --output or remove it first`)
    throw new ConfigError(`cannot write ${file} (${code ?? String(error)}); check the path and its directory`)
  }
}
