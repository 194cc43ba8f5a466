import {Args, Flags} from '@oclif/core'

import {loadStateContext} from '../services/context.js'
import {runReport, writeReport, type ReportResult} from '../services/report.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {renderReport} from '../ui/report/html.js'
import {serviceFlag} from '../ui/state-flags.js'

export default class Report extends GrayCommand {
  static override summary = 'Write one self-contained HTML file of a run: weights, gates against their limits, hosts, events, the rollback reason.'
  static override description = `RUN is a run id (or the start of one) from \`gray history\`; without it, the latest run. The file has no script and
loads nothing from the network: attach it to a ticket or keep it as a CI artifact.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report 20261122T034500123Z-3fa9c1 --output checkout-v2.html',
    '<%= config.bin %> report --output gray-report.html --json',
  ]
  static override args = {
    run: Args.string({description: 'Run id, or its start; default: the latest run.'}),
  }
  static override flags = {
    output: Flags.string({char: 'o', summary: 'Where to write the HTML (default: gray-report-<service>-<run>.html here).'}),
    ...serviceFlag,
  }

  async run(): Promise<ReportResult> {
    const {args, flags} = await this.parse(Report)
    const ctx = await loadStateContext(flags.config, flags.service)
    const model = await runReport(ctx, args.run)
    const result = await writeReport(model, renderReport(model), flags.output)
    if (!this.jsonEnabled()) this.log(`wrote ${result.file}: ${result.service} ${result.version} (${result.state}), run ${result.runId}`)
    return this.finish(result, 0)
  }
}
