// The run engine: reads the run's state from the journal, decides the next action (./next.ts, and
// ./rollback.ts once a rollback began), carries it out through the ports, journals intent and
// confirmation, and repeats until the run ends or must wait for a person. Carrying out is split by
// concern over one RunContext (./context.ts): ./publish.ts, ./deploy.ts, ./hook.ts, ./bake.ts with
// ./measure.ts, ./requests.ts. This file keeps the loop and the dispatch; it decides nothing.
import {HOOK_STAGES, type GrayConfig, type HookStage} from '../config/model.js'
import {hookCommand} from '../hooks.js'
import {ExitCode, GrayError, type ExitCodeValue} from '../errors.js'
import type {RequestKind} from '../ports.js'
import {bake} from './bake.js'
import {RunContext, type DriverDeps} from './context.js'
import {deployHosts} from './deploy.js'
import {exitCodeOf} from './exit-codes.js'
import {guard} from './guard.js'
import {runHook} from './hook.js'
import {nextAction, type Action} from './next.js'
import {toPercent} from './policy.js'
import {publish} from './publish.js'
import {localRequest, pollInbox} from './requests.js'
import type {RunState} from './state.js'

export type {DriverDeps, DriverOptions} from './context.js'

export interface Outcome {
  state: RunState
  exitCode: ExitCodeValue
}

function configuredHooks(config: GrayConfig): HookStage[] {
  return HOOK_STAGES.filter((stage) => Boolean(hookCommand(config.hooks, stage)))
}

export class RunDriver {
  private readonly ctx: RunContext

  constructor(deps: DriverDeps) {
    this.ctx = new RunContext(deps)
  }

  /** The run's state: the journal replayed (incrementally: only new events are applied). */
  state(): RunState {
    return this.ctx.state()
  }

  /** A request from this process (a signal, or a command that drives in-process). */
  request(kind: RequestKind, options: {reason?: string; full?: boolean} = {}): Promise<void> {
    return localRequest(this.ctx, kind, options)
  }

  /**
   * This process's own signal says leave (Ctrl-C's "pause and leave", SIGTERM): at the next hold the driver
   * journals driver.detached and returns (exit 4), even when it guards holds. A pause requested by another
   * command does not make a guarding driver leave.
   */
  leave(): void {
    this.ctx.leaving = true
    this.ctx.wake.abort()
  }

  /**
   * Drives the run until it ends, or must wait and does not guard waits (DriverOptions.guardWaits) or was told to
   * leave; the journal must already hold run.started.
   */
  async drive(): Promise<Outcome> {
    const ctx = this.ctx
    const {deps} = ctx
    const configured = configuredHooks(ctx.config)
    if (configured.length > 0 && !deps.hooks) {
      throw new GrayError(`hooks ${configured.join(', ')} are configured but this driver was given no hook runner; this is a bug in gray, please report it`)
    }
    // a poll that fails (the state database unreachable) is retried at the next notice or safety poll; it must not
    // become an unhandled rejection that kills the process with a stack trace after the driver's own error was said
    const unsubscribe = deps.inbox?.onArrival(() => void pollInbox(ctx).catch(() => undefined))
    try {
      await ctx.record('driver.attached', {epoch: deps.epoch ?? 0, takeover: Boolean(deps.takeover), from: deps.takeover?.from})
      await pollInbox(ctx)
      for (;;) {
        await ctx.requests
        if (ctx.requestFailure !== undefined) throw ctx.requestFailure
        const state = ctx.state()
        if (state.rollback) ctx.rollbackRequested = true
        const action = nextAction(state, ctx.config, {guard: ctx.opts.guardWaits && !ctx.leaving})
        if (action.kind === 'done') return {state, exitCode: exitCodeOf(state)}
        if (action.kind === 'hold') {
          await ctx.record('driver.detached', {reason: action.reason})
          return {state: ctx.state(), exitCode: ExitCode.paused}
        }
        await this.perform(action)
      }
    } finally {
      unsubscribe?.()
      await ctx.requests
    }
  }

  private async perform(action: Exclude<Action, {kind: 'done' | 'hold'}>): Promise<void> {
    const ctx = this.ctx
    switch (action.kind) {
      case 'publish':
        return void (await publish(ctx, action.policy, action.purpose, action.step))
      case 'deploy':
        return deployHosts(ctx, action.hosts, action.version, action.purpose, action.step)
      case 'hook':
        return void (await runHook(ctx, action.stage, action.key, {step: action.step, weight: toPercent(action.weightBp), hosts: action.hosts?.map((h) => h.name)}))
      case 'start-step':
        return void (await ctx.record('step.started', {index: action.index, weight: toPercent(action.weightBp)}))
      case 'bake':
        return bake(ctx, action.weightBp)
      case 'guard':
        return guard(ctx, action)
      case 'pass-by-promote':
        return void (await ctx.record('step.passed', {index: action.index, by: 'promote'}))
      case 'wait':
        return void (await ctx.record('step.waiting', {index: action.index}))
      case 'begin-completion':
        return void (await ctx.record('run.completing', {hosts: action.hosts.map((h) => h.address)}))
      case 'finish':
        return void (await ctx.record('run.completed', {version: action.version, failedHosts: action.failedHosts}))
      case 'warn':
        return void (await ctx.record('rollback.warning', {message: action.message, about: action.about}))
      case 'rolled-back':
        return void (await ctx.record('run.rolled_back', {reason: action.reason, reverted: action.reverted, notReverted: action.notReverted}))
    }
  }
}
