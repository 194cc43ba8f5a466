// `gray status` without oclif: on-call runs it often and at bad moments, so it
// starts on Node's own argument parser and the light config read. It handles
// plain `status [-c FILE] [--json] [--events N] [--insecure]`; for anything
// else (help, --watch, --wait, a flag it does not know) it returns false and
// the oclif command runs instead, with the same output.
import {parseArgs} from 'node:util'

import {GrayError} from '../core/errors.js'
import {colourFromEnvironment, DEFAULT_CONFIG_FILE, errorDocument, errorReport, setUpOutput, writeError} from '../ui/process.js'

export async function fastStatus(argv: string[]): Promise<boolean> {
  let values: {config?: string; json?: boolean; events?: string; insecure?: boolean}
  try {
    values = parseArgs({
      args: argv,
      options: {config: {type: 'string', short: 'c'}, json: {type: 'boolean'}, events: {type: 'string'}, insecure: {type: 'boolean'}},
      strict: true,
      allowPositionals: false,
    }).values
  } catch {
    return false
  }
  if (values.events !== undefined && !/^\d+$/.test(values.events)) return false
  // the same process setup as every oclif command (hooks/init.ts, ui/base.ts)
  colourFromEnvironment()
  setUpOutput({insecure: Boolean(values.insecure)})
  const {statusContext, statusOf} = await import('../services/status.js')
  try {
    const ctx = await statusContext(values.config ?? process.env.GRAY_CONFIG ?? DEFAULT_CONFIG_FILE)
    const doc = await statusOf(ctx, {events: values.events === undefined ? 10 : Number(values.events)})
    if (values.json) {
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
      // as the oclif command does: the document says guarded: false, a person reading stderr sees it too
      if (doc.run?.guarded === false) process.stderr.write(`gray: ${doc.service}: ${(await import('../ui/status.js')).unguardedLine(doc.run.version)}\n`)
    } else {
      const {renderStatus} = await import('../ui/status.js')
      process.stdout.write(`${renderStatus(doc, {trend: Boolean(process.stdout.isTTY)})}\n`)
    }
    process.exitCode = 0
    return true
  } catch (error) {
    if (!(error instanceof GrayError)) return false
    // the same one-line error, exit code and JSON as every oclif command
    const report = errorReport(error, error.exitCode)
    if (values.json) process.stdout.write(`${JSON.stringify(errorDocument(report), null, 2)}\n`)
    writeError(report)
    process.exitCode = error.exitCode
    return true
  }
}
