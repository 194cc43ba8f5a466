// Running one of config.hooks at its moment of the run.
import {hookCommand, isBeforeHook, type HookContext} from '../hooks.js'
import type {HookStage} from '../config/model.js'
import type {RunContext} from './context.js'
import {hookDone} from './state.js'

/**
 * Runs a hook once per stage and key: hook.started before, hook.ran after, so
 * a driver that takes over never runs again a hook that has run. A failing
 * before-hook holds the run; the others leave a warning.
 */
export async function runHook(ctx: RunContext, stage: HookStage, key: string, at: {step?: number; weight: number; hosts?: string[]}): Promise<void> {
  const argv = hookCommand(ctx.config.hooks, stage)
  const runner = ctx.deps.hooks
  if (!argv || !runner || hookDone(ctx.state(), stage, key)) return
  const s = ctx.state()
  const hookCtx: HookContext = {service: s.service, runId: s.runId, version: s.version, previousVersion: s.previousVersion, ...at}
  await ctx.record('hook.started', {stage, key, step: at.step, weight: at.weight})
  const signal = stage === 'onRollback' ? undefined : ctx.phase.signal
  const result = await runner.run(stage, argv, hookCtx, {timeoutMs: ctx.config.hooks?.timeoutMs ?? 300_000, signal})
  await ctx.record('hook.ran', {stage, key, ok: result.ok, exitCode: result.exitCode, error: result.error, outputTail: result.outputTail, durationMs: result.durationMs})
  if (!result.ok && isBeforeHook(stage) && !ctx.rollbackRequested) {
    const last = result.outputTail.at(-1)
    await ctx.record('run.paused', {
      reason: `hook ${stage} (${argv[0]}) ${result.error ?? 'failed'}${last ? `: ${last}` : ''}; fix it, then \`gray resume\` runs it again, or \`gray rollback\``,
      cause: 'hook',
    })
  }
}
