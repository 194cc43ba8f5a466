import {buildPlan, type Plan} from '../core/plan.js'
import {checkVersion} from '../core/version.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'
import {currentVersion} from './runs.js'

export async function planService(file: string, version: string, previousVersion?: string): Promise<Plan> {
  checkVersion(version, '--version')
  if (previousVersion !== undefined) checkVersion(previousVersion, '--previous-version')
  const ctx = await loadContext(file)
  const gateway = await preflight(ctx)
  return buildPlan(ctx.config, gateway, version, previousVersion ?? (await currentVersion(ctx)))
}
