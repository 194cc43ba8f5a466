import {Flags} from '@oclif/core'

import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {runControl} from '../ui/control-command.js'
import {adoptConfigFlag} from '../ui/config-flags.js'
import {serviceFlag} from '../ui/state-flags.js'

export default class Pause extends GrayCommand {
  static override summary = 'Hold the run at its current weight (exit 4); `gray resume` lets it go on.'
  static override description = `A pause stops advancement, not the gates: a live driver stays, keeps measuring them at the current weight and rolls the run back if they fail. With no live driver this command journals the pause and leaves the run UNGUARDED until \`gray resume\` (exit 4).

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> pause --reason "waiting for the EU morning peak"']
  static override flags = {
    ...serviceFlag,
    ...adoptConfigFlag,
    reason: Flags.string({summary: 'Why, for the journal.'}),
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Pause)
    return runControl(this, 'pause', flags)
  }
}
