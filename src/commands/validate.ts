import {Flags} from '@oclif/core'

import {readLine} from '../core/config/inventory.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {validateService, type ValidateResult} from '../services/validate.js'
import {showsTasks, validateTasks} from '../ui/validate-tasks.js'

export default class Validate extends GrayCommand {
  static override summary = 'Check gray.yaml: schema, then meaning (steps, rules the gateway can express, gates).'
  static override description = `Reads the config, fills \${VAR} from the environment and checks everything a run relies on, changing nothing.
With --connect it also asks the gateway what it serves (for nginx: that the include exists and nginx answers for it), opens a TCP
connection to every host's address, and prints what each gate's query returns now; any that fails exits 1.
Hosts from an inventory file are read; an inventory command runs only with --connect (plan and start always run it).

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> validate', '<%= config.bin %> validate -c deploy/gray.yaml --connect']
  static override flags = {
    connect: Flags.boolean({summary: 'Also reach the gateway, every host (a TCP connection to its address) and every metric source.'}),
  }

  async run(): Promise<ValidateResult> {
    const {flags} = await this.parse(Validate)
    // on a person's terminal the checks of --connect show as a task list on stderr while they run
    const tasks = flags.connect && showsTasks(this.jsonEnabled()) ? validateTasks() : null
    let result: ValidateResult
    try {
      result = await validateService(flags.config, {connect: flags.connect, progress: tasks?.progress})
    } finally {
      tasks?.abandon()
      await tasks?.end()
    }
    if (!this.jsonEnabled()) {
      this.log(`${result.file}: valid — service ${result.service}, ${result.gateway === 'config' ? 'a configuration release (kind: config)' : `${result.gateway} gateway`}, ${count(result.steps, 'step')}, ${count(result.checks, 'gate check')}`)
      for (const r of result.inventory ?? []) this.log(`  ${readLine(r)}`)
      for (const w of result.warnings) this.log(`  warning: ${w}`)
      for (const c of result.connect ?? []) this.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail}`)
    }
    return this.finish(result, result.connect?.some((c) => !c.ok) ? 1 : 0)
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
