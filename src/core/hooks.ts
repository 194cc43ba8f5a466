// Hooks: the user's commands at the stages of a run. The engine decides when a
// hook is due (./run/next.ts) and journals it; a HookRunner carries it out.
import type {Hooks, HookStage} from './config/model.js'

export type {HookStage}

/** Before-hooks gate their stage: a failure holds the run. After/on hooks only warn. */
export function isBeforeHook(stage: HookStage): boolean {
  return stage === 'beforeDeploy' || stage === 'beforeTraffic'
}

/** What a hook knows of the run, given to it as GRAY_* environment variables. */
export interface HookContext {
  service: string
  runId: string
  version: string
  previousVersion: string | null
  /** the step the hook belongs to, 0-based; absent outside a step */
  step?: number
  /** the traffic share (percent) the stage is about, or in force */
  weight: number
  /** names of the hosts a deploy hook is about */
  hosts?: string[]
}

export function hookEnvironment(stage: HookStage, ctx: HookContext): Record<string, string> {
  return {
    GRAY_HOOK: stage,
    GRAY_SERVICE: ctx.service,
    GRAY_RUN_ID: ctx.runId,
    GRAY_VERSION: ctx.version,
    GRAY_PREVIOUS_VERSION: ctx.previousVersion ?? '',
    // people count steps from 1, as `gray status` shows them
    GRAY_STEP: ctx.step === undefined ? '' : String(ctx.step + 1),
    GRAY_WEIGHT: String(ctx.weight),
    GRAY_HOSTS: (ctx.hosts ?? []).join(','),
  }
}

// HookResult and HookRunner are ports: they live in ./ports.ts with the others.
export type {HookResult, HookRunner} from './ports.js'

export function hookCommand(hooks: Hooks | undefined, stage: HookStage): string[] | undefined {
  const argv = hooks?.[stage]
  return argv && argv.length > 0 ? argv : undefined
}
