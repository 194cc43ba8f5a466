import {Flags} from '@oclif/core'

import {runSandbox} from '../adapters/gateways/sandbox/main.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'

export default class Sandbox extends GrayCommand {
  static override summary = 'Run the built-in sandbox gateway (a local reverse proxy that applies gray policies) in the foreground.'
  static override description = `Prints {"listen": url, "admin": url} on one line once ready; stops on Ctrl-C.
Responses carry x-gray-route: gray|stable, so you can see where each request went.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> sandbox',
    '<%= config.bin %> sandbox --listen 127.0.0.1:8080 --admin 127.0.0.1:8081 --state-file .gray/sandbox.json',
    '<%= config.bin %> sandbox --listen 127.0.0.1:0 --admin 127.0.0.1:0   # free ports, printed once ready',
  ]
  static override flags = {
    listen: Flags.string({summary: 'host:port for user traffic.', default: '127.0.0.1:8080'}),
    admin: Flags.string({summary: 'host:port for the control plane gray publishes to.', default: '127.0.0.1:8081'}),
    'state-file': Flags.string({summary: 'Keep the applied policy here, so a restarted sandbox serves the same policy.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Sandbox)
    await runSandbox({listen: flags.listen, admin: flags.admin, stateFile: flags['state-file']})
  }
}
