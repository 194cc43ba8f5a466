// A metric source that runs a program for anything gray cannot read itself:
// argv (no shell) with placeholders filled per element, the check's query as
// the last argument; the program prints a number, or {"value": n, "samples": n}.
import {execa, ExecaError, type Result} from 'execa'
import type {CommandSourceConfig} from '../../../core/config/model.js'
import {errorMessage, MetricError} from '../../../core/errors.js'
import type {MeasureRequest, Measurement, MetricSource} from '../../../core/ports.js'
import {fillArgv} from '../../../core/template.js'
import {fillQuery, queryVars, windowDuration} from '../query-vars.js'

const MAX_OUTPUT = 1024 * 1024

interface Reading {
  value: number | null
  samples: number | null
  /** stdout as printed (trimmed), for the journal */
  output: string
}

export class CommandMetricSource implements MetricSource {
  readonly type = 'command'

  constructor(private readonly config: CommandSourceConfig) {}

  async measure(req: MeasureRequest): Promise<Measurement> {
    const {check} = req
    const evaluatedAt = new Date(req.at).toISOString()
    if (check.errors !== undefined && check.total !== undefined) {
      const errorsQuery = fillQuery(check.errors, req)
      const totalQuery = fillQuery(check.total, req)
      const [errors, total] = await Promise.all([this.run(errorsQuery, req), this.run(totalQuery, req)])
      const raw = {evaluatedAt, errors: errors.output, total: total.output}
      const query = `${errorsQuery} / ${totalQuery}`
      if (total.value === null || total.value <= 0) return {value: null, samples: total.value, raw, query}
      if (!Number.isFinite(total.value)) return {value: Number.NaN, samples: null, raw, query}
      return {value: (errors.value ?? 0) / total.value, samples: total.value, raw, query}
    }
    if (check.query !== undefined) {
      const query = fillQuery(check.query, req)
      const reading = await this.run(query, req)
      return {value: reading.value, samples: reading.samples, raw: {evaluatedAt, output: reading.output}, query}
    }
    throw new MetricError(`Check ${check.name} needs errors and total, or query, to pass to its command.`, {permanent: true})
  }

  private async run(query: string, req: MeasureRequest): Promise<Reading> {
    let argv: string[]
    try {
      argv = [...fillArgv(this.config.command, queryVars(req)), query]
    } catch (error) {
      throw new MetricError(`The metric command for check ${req.check.name} cannot be built: ${errorMessage(error)}.`, {permanent: true})
    }
    const [file = '', ...args] = argv
    const result = await execa(file, args, {
      shell: false,
      timeout: this.config.timeoutMs,
      cancelSignal: req.signal,
      stdin: 'ignore',
      reject: false,
      maxBuffer: MAX_OUTPUT,
      env: {
        GRAY_CHECK: req.check.name,
        GRAY_COHORT: req.cohort,
        GRAY_VERSION: req.version,
        GRAY_SERVICE: req.service,
        GRAY_WINDOW: windowDuration(req.windowMs),
        GRAY_WINDOW_MS: String(req.windowMs),
        GRAY_AT: new Date(req.at).toISOString(),
        GRAY_QUERY: query,
      },
    })
    const who = `The metric command ${file} for check ${req.check.name}`
    if (result.failed) throw failure(result, who, this.config.timeoutMs)
    const output = String(result.stdout).trim()
    const reading = parseOutput(output)
    if (!reading) {
      throw new MetricError(`${who} printed ${JSON.stringify(clip(output))}, not a number or {"value": n, "samples": n}; make it print one of those.`, {permanent: true})
    }
    return {...reading, output}
  }
}

/** A number ("0.02", "NaN", "+Inf"), JSON {"value": n|null, "samples": n|null}, or nothing (no data). */
export function parseOutput(printed: string): Omit<Reading, 'output'> | undefined {
  const output = printed.trim()
  if (output === '' || output === 'null') return {value: null, samples: null}
  const number = parseNumber(output)
  if (number !== undefined) return {value: number, samples: null}
  let parsed: unknown
  try {
    parsed = JSON.parse(output)
  } catch {
    return undefined
  }
  if (typeof parsed === 'number') return {value: parsed, samples: null}
  if (typeof parsed !== 'object' || parsed === null || !('value' in parsed)) return undefined
  const {value, samples} = parsed as {value: unknown; samples?: unknown}
  const v = jsonNumber(value)
  const s = samples === undefined ? null : jsonNumber(samples)
  if (v === undefined || s === undefined) return undefined
  return {value: v, samples: s}
}

function parseNumber(text: string): number | undefined {
  if (/^NaN$/i.test(text)) return Number.NaN
  if (/^\+?Inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY
  if (/^-Inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined
  return Number(text)
}

function jsonNumber(value: unknown): number | null | undefined {
  if (value === null) return null
  if (typeof value === 'number') return value
  if (typeof value === 'string') return parseNumber(value.trim())
  return undefined
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function failure(result: Result, who: string, timeoutMs: number): MetricError {
  const error: unknown = result
  const code = error instanceof ExecaError ? error.code : undefined
  if (code === 'ENOENT') return new MetricError(`${who} was not found; check the source's command.`, {permanent: true})
  if (code === 'EACCES') return new MetricError(`${who} cannot be run (permission denied); check the source's command.`, {permanent: true})
  const lastLine = String(result.stderr ?? '').trim().split('\n').at(-1)?.trim()
  const said = lastLine ? `: ${clip(lastLine)}` : ''
  if (result.isCanceled) return new MetricError(`${who} was cancelled.`)
  if (result.timedOut) return new MetricError(`${who} did not finish within ${timeoutMs} ms${said}.`)
  if (result.isMaxBuffer) return new MetricError(`${who} printed more than ${MAX_OUTPUT} bytes; make it print one number.`, {permanent: true})
  if (result.exitCode !== undefined) return new MetricError(`${who} exited with code ${result.exitCode}${said}.`)
  return new MetricError(`${who} failed${result.signal ? ` (killed by ${result.signal})` : ''}${said}.`)
}
