import {Flags} from '@oclif/core'

import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {runControl} from '../ui/control-command.js'
import {adoptConfigFlag} from '../ui/config-flags.js'
import {serviceFlag} from '../ui/state-flags.js'

export default class Rollback extends GrayCommand {
  static override summary = 'Send all traffic back to stable at once, then revert every host that got the new version.'
  static override description = `Works from any terminal: while another process drives the run, the request goes to that driver, which acts on it
within a second; when nothing drives the run, this command does the rollback itself. Exits 3 once the run is rolled back.

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> rollback --reason "checkout errors in the EU"', '<%= config.bin %> rollback --yes --json']
  static override flags = {
    ...serviceFlag,
    ...adoptConfigFlag,
    reason: Flags.string({summary: 'Why, for the journal and the history.'}),
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Rollback)
    return runControl(this, 'rollback', flags, 'Roll back {service} now?')
  }
}
