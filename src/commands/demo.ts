import {Flags} from '@oclif/core'

import {count} from '../core/gates/judge.js'
import {runDemo} from '../services/demo.js'
import type {StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {createProgress} from '../ui/progress.js'
import {describeEnd} from '../ui/run-result.js'

export default class Demo extends GrayCommand {
  static override summary = 'A complete rollout on this machine: sample services, the sandbox gateway, live traffic and gates.'
  static override description = `Starts two stable and one gray sample service, the built-in sandbox gateway and steady traffic from 5,000 users,
then rolls v1 → v2 through 1%, 10%, 50% and 100% with short bakes, judging each step on the services' error rate.
--fail makes v2 answer 500 to 30% of requests, so the gates roll it back. Everything it starts stops when it ends, also on Ctrl-C.

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --fail', '<%= config.bin %> demo --json']
  static override flags = {
    fail: Flags.boolean({summary: 'Make the new version fail so the rollback shows.'}),
  }

  async run(): Promise<StatusDocument> {
    const {flags} = await this.parse(Demo)
    const json = this.jsonEnabled()
    const progress = createProgress({json, ctrlC: 'stops the demo and everything it started'})
    const result = await runDemo({
      fail: flags.fail,
      observe: (e, s) => progress.observe(e, s),
      onConfig: (config) => progress.setChecks(config.gates?.checks ?? []),
      note: json ? undefined : (line) => progress.note(line),
      onSignal: (signal) => progress.note(`${signal}: pausing the demo run, then stopping everything it started…`),
    })
    const run = result.status.run
    await progress.end(null)
    if (!json && run) {
      const s = result.load
      this.log(describeEnd({status: run.state, version: run.version, reason: run.reason, warnings: run.warnings, stepIndex: run.step.index}, 'demo'))
      this.log(`traffic: ${count(s.responses)} responses, ${count(s.byRoute.gray ?? 0)} served by gray, ${count(s.byStatus['500'] ?? 0)} errors (500), ${count(s.errors)} failed connections${s.errors > 0 && s.lastError ? ` (last: ${s.lastError})` : ''}, ${count(s.users)} distinct users`)
      this.log(`took ${Math.round(result.elapsedMs / 100) / 10}s; the journal is in ${result.dir}/.gray`)
    }
    return this.finish(result.status, result.exitCode as 0)
  }
}
