// The one front door: what every way into gray does before it prints anything, and
// how it reports an error. The oclif commands (hooks/init.ts, ui/base.ts) and the fast
// `gray status` path (fast/status.ts) both call it; it stays light (no oclif, no chalk)
// because the fast path loads it first.
import type {InvalidConfigError} from '../core/config/problems.js'
import {ExitCode, GrayError} from '../core/errors.js'
import {maskSecretsInOutput, shown} from '../core/redact.js'

/** the config file when neither -c nor GRAY_CONFIG names one */
export const DEFAULT_CONFIG_FILE = 'gray.yaml'

/**
 * NO_COLOR (no-color.org) turns colour off everywhere; chalk itself only reads
 * FORCE_COLOR, so this runs before anything loads chalk.
 */
export function colourFromEnvironment(): void {
  if (process.env.NO_COLOR && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0'
}

/** Before the command prints or builds an adapter: every byte masked, --insecure seen by every HTTP client. */
export function setUpOutput(options: {insecure: boolean}): void {
  maskSecretsInOutput()
  if (options.insecure) process.env.GRAY_INSECURE_TLS = '1'
}

export interface ErrorReport {
  message: string
  hint?: string
  exitCode: number
  /** every problem of the config, when `gray validate` lists them all */
  problems?: string[]
  /** not a GrayError: a bug, or something gray did not expect */
  unexpected: boolean
  stack?: string
}

/** What gray says about `error`: one line (or every problem of an invalid config), secrets masked. */
export function errorReport(error: Error, exitCode: number, invalid: InvalidConfigError | null = null): ErrorReport {
  const gray = error instanceof GrayError
  const problems = invalid ? invalid.problems.map((p) => shown(oneLine(p))) : undefined
  const message = problems ? `${problems.length} problems in the config: ${problems.join('; ')}` : shown(oneLine(error.message || String(error)))
  const hint = invalid ? (invalid.fix ? shown(invalid.fix) : undefined) : gray && error.hint ? shown(error.hint) : undefined
  return {message, ...(hint ? {hint} : {}), exitCode, ...(problems ? {problems} : {}), unexpected: !gray, ...(error.stack ? {stack: error.stack} : {})}
}

/** The `--json` document of an error. */
export function errorDocument(report: ErrorReport): {error: {message: string; hint: string | null; exitCode: number; problems?: string[]}} {
  return {error: {message: report.message, hint: report.hint ?? null, exitCode: report.exitCode, ...(report.problems ? {problems: report.problems} : {})}}
}

/** The error on stderr: `gray: …` and the hint; with DEBUG=gray*, the stack. */
export function writeError(report: ErrorReport): void {
  const debug = /(^|,)\s*gray/.test(process.env.DEBUG ?? '')
  const {problems, hint} = report
  if (problems) process.stderr.write(`gray: ${problems.length} problems in the config:\n${problems.map((p) => `  - ${p}\n`).join('')}${hint ? `  ${hint}\n` : ''}`)
  else process.stderr.write(`gray: ${report.message}${hint ? `\n  ${hint}` : ''}\n`)
  if (report.exitCode === ExitCode.failure && report.unexpected && !debug) process.stderr.write('  (this looks like a bug in gray; rerun with DEBUG=gray* to see where)\n')
  if (debug && report.stack) process.stderr.write(`${shown(report.stack)}\n`)
}

function oneLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
}
