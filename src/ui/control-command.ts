// The shared body of rollback / promote / pause / resume.
import type {RequestKind} from '../core/ports.js'
import {loadStateContext} from '../services/context.js'
import {control} from '../services/control.js'
import {statusOf, type StatusDocument} from '../services/status.js'
import type {GrayCommand} from './base.js'
import {canPrompt, confirm} from './interactive.js'
import {interruptAsk, interruptNote} from './interrupt.js'
import {createProgress, ctrlCHint} from './progress.js'
import {describeEnd} from './run-result.js'

export async function runControl(
  command: GrayCommand,
  kind: RequestKind,
  flags: {config: string; service?: string; yes?: boolean; reason?: string; full?: boolean; detach?: boolean; 'adopt-config'?: boolean},
  question?: string,
): Promise<StatusDocument> {
  const json = command.jsonEnabled()
  const ctx = await loadStateContext(flags.config, flags.service)
  if (question) await confirm(question.replace('{service}', ctx.service), {yes: Boolean(flags.yes), json, action: `gray ${kind}`})
  const progress = createProgress({json, checks: ctx.config?.gates?.checks, ctrlC: ctrlCHint(canPrompt(json))})
  const result = await control(ctx, kind, {
    reason: flags.reason,
    full: flags.full,
    adoptConfig: flags['adopt-config'],
    observe: (e, s) => progress.observe(e, s),
    handleSignals: true,
    ask: interruptAsk(json, progress),
    note: interruptNote(progress),
    detach: flags.detach,
  })
  await progress.end(result.state)
  if (!json) {
    if (result.via === 'driver') process.stderr.write(`the driver (pid ${result.driverPid}) took the ${kind} request\n`)
    process.stdout.write(`${describeEnd(result.state, ctx.service)}\n`)
  }
  return command.finish(await statusOf(ctx, {runId: result.state.runId, readBack: Boolean(ctx.config)}), result.exitCode)
}
