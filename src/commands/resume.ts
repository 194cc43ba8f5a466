import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {runControl} from '../ui/control-command.js'
import {adoptConfigFlag} from '../ui/config-flags.js'
import {detachFlag, GUARDED_WAITS_HELP, serviceFlag} from '../ui/state-flags.js'

export default class Resume extends GrayCommand {
  static override summary = 'Let a paused run go on, and drive it like start.'
  static override description = `With a live driver the request goes to it; otherwise this command drives the run from there, like start.
${GUARDED_WAITS_HELP}

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> resume']
  static override flags = {...serviceFlag, ...adoptConfigFlag, ...detachFlag}

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Resume)
    return runControl(this, 'resume', flags)
  }
}
