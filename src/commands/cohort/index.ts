import {Args} from '@oclif/core'

import {cohortOf, type CohortAnswer} from '../../services/cohort.js'
import {loadContext} from '../../services/context.js'
import {EXIT_CODES_HELP, GrayCommand} from '../../ui/base.js'

export default class Cohort extends GrayCommand {
  static override summary = 'Is this user in gray now, and at each step? Which rule or hash bucket decides it.'
  static override description = `Give the sticky key by its own name (uid=u42 for sticky: cookie:uid), and any other request attributes the
rules look at as header:NAME=VALUE, cookie:NAME=VALUE, query:NAME=VALUE or ip=ADDR. Buckets are the gateway's own: nginx's split_clients (MurmurHash2), HAProxy's xxh32 mod 10000, BFE's murmur3 mod 10000.
\`gray cohort serve\` answers the same over HTTP (docs/cohort.md).

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> cohort uid=u42', '<%= config.bin %> cohort uid=u42 header:X-Gray=1 ip=10.9.1.2 --json']
  static override strict = false
  static override args = {key: Args.string({description: 'NAME=VALUE pairs describing the request', required: true})}

  async run(): Promise<CohortAnswer> {
    const {argv, flags} = await this.parse(Cohort)
    const ctx = await loadContext(flags.config)
    const answer = await cohortOf(ctx, argv as string[])
    if (!this.jsonEnabled()) {
      this.log(`${answer.sticky} = ${answer.key ?? '(none)'}${answer.bucket === null ? '' : `, bucket ${answer.bucket} of 10000`}`)
      if (!answer.stickySplit) this.log(`note: the ${ctx.config.gateway.type} gateway splits per request, so the weight is a chance per request, not a cohort`)
      if (answer.seed) this.log(`cohort seed ${answer.seed} (this run's; the next run picks another)`)
      if (answer.seedPending) this.log('no unfinished run: traffic.rotate is on, so the next run picks a new cohort seed; which step the split takes this user in at is known once it starts')
      if (answer.now) this.log(`now (${answer.now.state}, ${answer.now.weight}%): ${answer.now.target} — ${answer.now.why}`)
      else this.log('now: no run yet')
      for (const s of answer.steps) this.log(`step ${s.index + 1} (${s.weight}%): ${s.target.padEnd(7)} — ${s.why}`)
    }
    return this.finish(answer, 0)
  }
}
