// The base of every command: common flags, one-line errors with the documented
// exit codes, and `--json` (one document on stdout; progress on stderr).
import {Command, Flags} from '@oclif/core'

import {InvalidConfigError} from '../core/config/problems.js'
import {ConfigError, ExitCode, GrayError, type ExitCodeValue} from '../core/errors.js'
import {DEFAULT_CONFIG_FILE, errorDocument, errorReport, setUpOutput, writeError} from './process.js'

export const EXIT_CODES_HELP = `EXIT CODES
  0  success: run completed, or the command did what it was asked
  1  unexpected failure (a bug, or infrastructure unreachable after retries)
  2  usage or config error; nothing was changed
  3  the run was rolled back
  4  the run is paused or waiting for \`gray promote\`
  5  refused: another process holds this service's run lock`

export abstract class GrayCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      summary: 'Path of the gray.yaml to use.',
      env: 'GRAY_CONFIG',
      default: DEFAULT_CONFIG_FILE,
      helpGroup: 'GLOBAL',
    }),
    yes: Flags.boolean({
      char: 'y',
      summary: 'Do not ask for confirmation (needed without a TTY where a command confirms); changes nothing where nothing is confirmed.',
      helpGroup: 'GLOBAL',
    }),
    insecure: Flags.boolean({
      summary: 'Turn HTTPS certificate checks off (warns every time). Env: GRAY_INSECURE_TLS=1.',
      helpGroup: 'GLOBAL',
    }),
  }

  override async init(): Promise<void> {
    await super.init()
    // read before any adapter builds its HTTP client
    setUpOutput({insecure: this.argv.includes('--insecure')})
  }

  /** the state backends this command opened (a PostgreSQL pool keeps the process alive) are closed as it ends */
  protected override async finally(error: Error | undefined): Promise<unknown> {
    const {closeState} = await import('../services/context.js')
    await closeState()
    return super.finally(error)
  }

  /** Ends the command with `code` after printing `result` (as JSON under --json). */
  finish<T>(result: T, code: ExitCodeValue): T {
    process.exitCode = code
    return result
  }

  /** Progress and notes go to stderr, so stdout stays one JSON document under --json. */
  protected note(line: string): void {
    process.stderr.write(`${line}\n`)
  }

  protected override async catch(thrown: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // Ctrl-C (or a closed terminal) at a prompt is a plain cancel: nothing was written
    const cancelled = thrown.name === 'ExitPromptError' || thrown.name === 'AbortPromptError'
    const error: Error & {exitCode?: number; oclif?: {exit?: number}} = cancelled ? new ConfigError('cancelled at the prompt; nothing was changed') : thrown
    const gray = error instanceof GrayError
    const code: number = gray ? error.exitCode : error.oclif?.exit === 2 || isParseError(error) ? ExitCode.usage : (error.oclif?.exit ?? ExitCode.failure)
    if (error.oclif?.exit === 0 && !gray) return
    // `gray validate` is where every problem is listed, not only the first
    const invalid = this.id === 'validate' && error instanceof InvalidConfigError && error.problems.length > 1 ? error : null
    const report = errorReport(error, code, invalid)
    if (this.jsonEnabled()) this.logJson(errorDocument(report))
    writeError(report)
    this.exit(code)
  }
}

function isParseError(error: Error): boolean {
  return /Unexpected argument|Missing required flag|Expected --|Nonexistent flag|--\w+ must|Parsing --|flag .* expects/.test(error.message) || error.name === 'FailedFlagValidationError'
}
