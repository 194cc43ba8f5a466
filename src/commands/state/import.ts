import {Args} from '@oclif/core'

import {importState, stateTarget, type ImportSummary} from '../../services/state.js'
import {EXIT_CODES_HELP, GrayCommand} from '../../ui/base.js'
import {stateFlags} from '../../ui/state-flags.js'

export default class StateImport extends GrayCommand {
  static override summary = 'Read a history written by `gray state export` into this state backend; never overwrites a run.'
  static override description = `Checks the whole file first: a malformed line, or a run that exists here with other
events, refuses the import with nothing written. A run that exists with the same events
is left as it is, so importing the same file again changes nothing. The service is the
export's unless --service names another.

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> state import shop.ndjson', '<%= config.bin %> state import shop.ndjson --backend postgres --json']
  static override args = {
    file: Args.string({description: 'The export file, or - for stdin.', required: true}),
  }
  static override flags = stateFlags

  async run(): Promise<ImportSummary> {
    const {args, flags} = await this.parse(StateImport)
    const target = await stateTarget({...flags, service: flags.service ?? 'from-the-export'})
    const result = await importState(target, args.file, {serviceGiven: flags.service !== undefined})
    if (!this.jsonEnabled()) {
      this.log(`${result.service} into ${result.where}: ${result.imported.length} run${result.imported.length === 1 ? '' : 's'} imported, ${result.unchanged.length} already there unchanged`)
    }
    return this.finish(result, 0)
  }
}
