import {Flags} from '@oclif/core'

import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {runControl} from '../ui/control-command.js'
import {adoptConfigFlag} from '../ui/config-flags.js'
import {detachFlag, GUARDED_WAITS_HELP, serviceFlag} from '../ui/state-flags.js'

export default class Promote extends GrayCommand {
  static override summary = 'Let a waiting (or baking) step go on; --full skips the remaining steps and completes.'
  static override description = `With a live driver the request goes to it; otherwise this command drives the run from there, like start.
${GUARDED_WAITS_HELP}

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> promote', '<%= config.bin %> promote --full --yes']
  static override flags = {
    ...serviceFlag,
    ...adoptConfigFlag,
    full: Flags.boolean({summary: 'Skip the remaining steps: go to 100% and complete.'}),
    ...detachFlag,
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Promote)
    return runControl(this, 'promote', flags, flags.full ? 'Skip the remaining steps of {service} and complete?' : 'Let {service} go on to its next step?')
  }
}
