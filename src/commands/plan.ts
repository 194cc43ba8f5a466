import {Flags} from '@oclif/core'

import type {Plan} from '../core/plan.js'
import {planService} from '../services/plan.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {renderPlan} from '../ui/plan.js'

export default class PlanCommand extends GrayCommand {
  static override summary = 'Print every step of a run: hosts touched, the exact gateway policy, gates, bake times. Changes nothing.'
  static override description = EXIT_CODES_HELP
  static override examples = ['<%= config.bin %> plan --version v2', '<%= config.bin %> plan --version v2 --json']
  static override flags = {
    version: Flags.string({summary: 'The version the run would deploy.', required: true}),
    'previous-version': Flags.string({summary: 'The version to roll back to, when no earlier run recorded it.'}),
  }

  async run(): Promise<Plan> {
    const {flags} = await this.parse(PlanCommand)
    const plan = await planService(flags.config, flags.version, flags['previous-version'])
    if (!this.jsonEnabled()) this.log(renderPlan(plan))
    return this.finish(plan, 0)
  }
}
