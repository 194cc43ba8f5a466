// `gray validate`: every check a run relies on, without changing anything.
import {createGateway} from '../adapters/factory.js'
import {buildPlan} from '../core/plan.js'
import {errorMessage} from '../core/errors.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'

export interface ValidateResult {
  file: string
  service: string
  gateway: string
  steps: number
  checks: number
  warnings: string[]
  connect?: Array<{what: string; ok: boolean; detail: string}>
}

export async function validateService(file: string, options: {connect?: boolean} = {}): Promise<ValidateResult> {
  const ctx = await loadContext(file)
  const gateway = await preflight(ctx)
  const plan = buildPlan(ctx.config, gateway, 'next', null)
  const result: ValidateResult = {
    file: ctx.config.file,
    service: ctx.config.service,
    gateway: ctx.config.gateway.type,
    steps: ctx.config.steps.length,
    checks: ctx.config.gates?.checks.length ?? 0,
    warnings: plan.warnings,
  }
  if (options.connect) {
    const connect: NonNullable<ValidateResult['connect']> = []
    try {
      const served = await (await createGateway(ctx.config)).readBack(AbortSignal.timeout(5_000))
      connect.push({what: `${ctx.config.gateway.type} gateway`, ok: true, detail: served ? `serves revision ${served.revision} (${served.mode}, ${served.weightBp / 100}%)` : 'reachable; no gray policy yet'})
    } catch (error) {
      connect.push({what: `${ctx.config.gateway.type} gateway`, ok: false, detail: errorMessage(error)})
    }
    result.connect = connect
  }
  return result
}
