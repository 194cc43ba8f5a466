// `gray report [RUN]`: one self-contained HTML file of a run, from its journal.
import path from 'node:path'

import {ConfigError} from '../core/errors.js'
import {gateDirections} from '../core/gates/judge.js'
import type {RunState} from '../core/run/state.js'
import {renderReport} from '../ui/report/html.js'
import {reportModel} from '../ui/report/model.js'
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

export async function writeReport(ctx: StateContext, options: {run?: string; output?: string} = {}): Promise<ReportResult> {
  const id = await findRunId(ctx, options.run)
  const run = await readRun(ctx, id)
  const directions = gateDirections(ctx.config?.gates?.checks ?? [])
  const html = renderReport(reportModel(run.events, run.state, directions))
  const file = path.resolve(options.output ?? `gray-report-${ctx.service}-${id}.html`)
  try {
    // private like everything gray writes: the report holds the run's reasons and outputs
    await writeAtomic(file, html, {mode: 0o600})
  } catch (error) {
    throw new ConfigError(`${options.output ?? file}: cannot write the report (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'pass --output with a writable path')
  }
  return {service: ctx.service, runId: id, version: run.state.version, state: run.state.status, file, bytes: Buffer.byteLength(html)}
}
