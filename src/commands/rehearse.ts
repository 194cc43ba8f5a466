import {Flags} from '@oclif/core'

import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {shown} from '../core/redact.js'
import {rehearseService} from '../services/rehearse.js'

export default class Rehearse extends GrayCommand {
  static override summary = "Replay the gates against past metrics: what they would have decided, and when."
  static override description = `Measures every check of gray.yaml interval by interval between --from and --to, with each query's
evaluation time pinned to the interval's end, and prints every measurement that was not a pass and
when the run would have rolled back. Nothing is deployed or published: a way to tune gates
without risking a release. Exit 0 whatever the gates decide.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> rehearse --from 2h --version v2 --previous-version v1',
    '<%= config.bin %> rehearse --from 2026-12-03T06:00:00Z --to 2026-12-03T08:00:00Z --version v2 --previous-version v1 --json',
  ]
  static override flags = {
    from: Flags.string({summary: 'Start: an ISO time, or how long ago (2h).', required: true}),
    to: Flags.string({summary: 'End: an ISO time, or how long ago; default now.'}),
    version: Flags.string({summary: 'The version that was gray ({version} when measuring gray).', required: true}),
    'previous-version': Flags.string({summary: 'The stable version, for checks with a baseline.'}),
  }

  async run(): Promise<Awaited<ReturnType<typeof rehearseService>>> {
    const {flags} = await this.parse(Rehearse)
    const result = await rehearseService(flags.config, {from: flags.from, to: flags.to, version: flags.version, previousVersion: flags['previous-version']})
    if (!this.jsonEnabled()) {
      this.log(`${result.service}: gates rehearsed from ${result.from} to ${result.to}, every ${result.intervalMs / 1000}s, ${result.version} against ${result.previousVersion ?? 'no baseline'}`)
      for (const m of result.notable) this.log(`  ${m.at}  ${m.check}: ${m.rollback ? 'ROLL BACK' : m.verdict} — ${shown(m.reason)}`)
      for (const c of result.checks) {
        const outcome = c.rollback ? `would roll back at ${c.rollback.at}` : 'would not roll back'
        this.log(`${c.name} (${c.judge}): ${c.measurements} measurements, ${c.passes} passes; ${outcome}`)
      }
      this.log(result.rollback ? `the run would have rolled back at ${result.rollback.at} (${result.rollback.check})` : 'the run would not have been rolled back by its gates')
    }
    return this.finish(result, 0)
  }
}

