import {Flags} from '@oclif/core'

import {loadContext} from '../../services/context.js'
import {SERVE_DEFAULTS, startCohortServer, type CohortServeReady} from '../../services/cohort-serve.js'
import {openBackend} from '../../state/backend.js'
import {EXIT_CODES_HELP, GrayCommand} from '../../ui/base.js'

export default class CohortServe extends GrayCommand {
  static override summary = 'Answer over HTTP whether a user is in gray now for this service, which tag to send, and the policy revision.'
  static override description = `GET /v1/cohort/SERVICE?uid=u42&header.X-Gray=1&cookie.device_id=d-42&query.build=beta.1&ip=10.9.1.2
POST /v1/cohort/SERVICE with {"uid": …, "headers": {…}, "cookies": …, "query": …, "ip": …} (message heads go in headers)
answer with {"gray", "cohort", "tag", "revision", "run", "why", "rule", "bucket"} (schema/cohort-answer.schema.json),
decided with the gateway's own hash from the policy in force in the state backend, re-read whenever it changes.
GET /v1/policy/SERVICE serves that policy as a policy document, for the gray-release/cohort library; GET /healthz.
Prints {"listen": url, "service": …, "backend": …} on one line once ready; stops on Ctrl-C or SIGTERM.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> cohort serve',
    '<%= config.bin %> cohort serve --listen 127.0.0.1:0   # a free port, printed once ready',
    'curl "http://127.0.0.1:8787/v1/cohort/checkout?uid=u42"',
  ]
  static override flags = {
    listen: Flags.string({summary: 'host:port to answer on (loopback unless you mean otherwise).', default: SERVE_DEFAULTS.listen}),
    'cache-size': Flags.integer({summary: 'Answers kept for repeated requests (least recently used out first; 0: none).', default: SERVE_DEFAULTS.cacheSize, min: 0, max: 1_000_000}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(CohortServe)
    const ctx = await loadContext(flags.config)
    const backend = await openBackend(ctx.config.state, {migrate: false})
    try {
      const server = await startCohortServer({config: ctx.config, backend, listen: flags.listen, cacheSize: flags['cache-size']})
      const ready: CohortServeReady = {listen: server.url, service: ctx.config.service, backend: backend.kind}
      process.stdout.write(`${JSON.stringify(ready)}\n`)
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          resolve()
        }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
      await server.close()
    } finally {
      await backend.close()
    }
  }
}
