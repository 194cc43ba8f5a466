// `gray report [RUN]`: the model of a run, from its journal, and the file it is written to;
// the command renders the model (src/ui/report/).
import path from 'node:path'

import {ConfigError} from '../core/errors.js'
import {gateDirections} from '../core/gates/judge.js'
import {reportModel, type ReportModel} from '../core/report.js'
import type {RunState} from '../core/run/state.js'
import type {StateContext} from './context.js'
import {readRun} from './runs.js'
import {writeAtomic} from '../state/files.js'

export interface ReportResult {
  service: string
  runId: string
  version: string
  state: RunState['status']
  file: string
  bytes: number
}

/** The run named by an id or an unambiguous prefix of one; the latest run without one. */
export async function findRunId(ctx: StateContext, wanted?: string): Promise<string> {
  const ids = await ctx.backend.listRuns(ctx.service)
  if (ids.length === 0) throw new ConfigError(`${ctx.service} has no runs yet; there is nothing to report`, 'start one with `gray start --version V`')
  if (!wanted || wanted === 'latest') return ids.at(-1) as string
  const matches = ids.filter((id) => id.startsWith(wanted))
  if (matches.length === 1) return matches[0] as string
  const known = ids.slice(-3).reverse().join(', ')
  if (matches.length === 0) throw new ConfigError(`${ctx.service} has no run "${wanted}"`, `\`gray history\` lists the runs; the latest are ${known}`)
  throw new ConfigError(`"${wanted}" names ${matches.length} runs of ${ctx.service}; give more of the id`, `\`gray history\` lists them`)
}

/** The report model of a run (an id, a prefix of one, or the latest run). */
export async function runReport(ctx: StateContext, run?: string): Promise<ReportModel> {
  const id = await findRunId(ctx, run)
  const {events, state} = await readRun(ctx, id)
  return reportModel(events, state, gateDirections(ctx.config?.gates?.checks ?? []))
}

/** Writes the rendered report of `model`, private, to `output` or a default name here. */
export async function writeReport(model: ReportModel, html: string, output?: string): Promise<ReportResult> {
  const file = path.resolve(output ?? `gray-report-${model.service}-${model.runId}.html`)
  try {
    // private like everything gray writes: the report holds the run's reasons and outputs
    await writeAtomic(file, html, {mode: 0o600})
  } catch (error) {
    throw new ConfigError(`${output ?? file}: cannot write the report (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'pass --output with a writable path')
  }
  return {service: model.service, runId: model.runId, version: model.version, state: model.state, file, bytes: Buffer.byteLength(html)}
}
