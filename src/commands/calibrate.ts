import {Flags} from '@oclif/core'

import {calibrateService} from '../services/calibrate.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {shown} from '../core/redact.js'

export default class Calibrate extends GrayCommand {
  static override summary = 'Measure each check\'s overdispersion on two groups of stable hosts, and print the line to set.'
  static override description = `Splits hosts.stable in two groups (alternately, in gray.yaml's order) that run the same version,
measures every count check (errors/total or histogram) for each group interval by interval, from
now on (--for) or on past data (--from/--to), and estimates how much more the split of errors
between the groups varies than chance: φ, Pearson's χ² per interval with its 95% interval.
Prints, per check, the \`overdispersion:\` line to paste into gray.yaml (the interval's upper end,
at least 1). Queries must select each group's hosts with {hosts} (e.g. instance=~"{hosts}");
scrape sources read the hosts themselves. Nothing is deployed or published. Exit 0.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> calibrate --version v1 --for 30m',
    '<%= config.bin %> calibrate --version v1 --from 2026-12-03T06:00:00Z --to 2026-12-03T08:00:00Z --json',
  ]
  static override flags = {
    version: Flags.string({summary: 'The version the stable hosts run ({version} in the queries).', required: true}),
    for: Flags.string({summary: 'Measure from now on, for this long (30m), waiting for each interval to end.', exclusive: ['from', 'to']}),
    from: Flags.string({summary: 'Past data from: an ISO time, or how long ago (2h).'}),
    to: Flags.string({summary: 'Past data to: an ISO time, or how long ago; default now.', dependsOn: ['from']}),
    check: Flags.string({summary: 'Only this check (repeat for several).', multiple: true}),
  }

  async run(): Promise<Awaited<ReturnType<typeof calibrateService>>> {
    const {flags} = await this.parse(Calibrate)
    let lastTenth = -1
    const result = await calibrateService(flags.config, {for: flags.for, from: flags.from, to: flags.to, version: flags.version, checks: flags.check}, (done, total) => {
      // live runs take a while: a line every tenth of the way, on stderr
      const tenth = Math.floor((10 * done) / Math.max(1, total))
      if (flags.for !== undefined && tenth > lastTenth) {
        lastTenth = tenth
        this.note(`calibrating: ${done} of ${total} intervals`)
      }
    })
    if (!this.jsonEnabled()) {
      this.log(`${result.service}: ${result.version} on two groups of stable hosts from ${result.from} to ${result.to}, every ${result.intervalMs / 1000}s`)
      this.log(`  group A: ${result.groups.a.join(', ')}`)
      this.log(`  group B: ${result.groups.b.join(', ')}`)
      for (const c of result.checks) {
        if (c.phi === null) {
          this.log(`${c.name}: ${shown(c.note ?? 'nothing measured')}`)
          continue
        }
        const ci = c.low === null || c.high === null ? 'no interval' : `95% interval ${c.low.toFixed(2)}–${c.high.toFixed(2)}`
        this.log(`${c.name}: φ ≈ ${c.phi.toFixed(2)} (${ci}; ${c.intervals} intervals with errors, ${Math.round(c.errors)} errors${c.measured && c.measured !== 'errors' ? `, ${c.measured}` : ''})`)
        if (c.line) this.log(`  set in the check:  ${c.line}`)
        if (c.note) this.log(`  note: ${shown(c.note)}`)
      }
    }
    return this.finish(result, 0)
  }
}

