import {buildPlan, type Plan} from '../core/plan.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'
import {currentVersion} from './runs.js'

export async function planService(file: string, version: string, previousVersion?: string): Promise<Plan> {
  const ctx = await loadContext(file)
  const gateway = await preflight(ctx)
  return buildPlan(ctx.config, gateway, version, previousVersion ?? (await currentVersion(ctx.store)))
}
