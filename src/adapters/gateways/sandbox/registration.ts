// The sandbox gateway: a proxy gray runs on this machine, for trying gray out.
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'
import {HOST_PORT, isText, onlyKeys} from '../../../core/config/plain.js'

export interface SandboxGatewayConfig {
  type: 'sandbox'
  /** where the sandbox proxy takes user traffic, host:port */
  listen: string
  /** where its control plane listens, host:port */
  admin: string
}

const DEFAULTS = {listen: '127.0.0.1:8080', admin: '127.0.0.1:8081'}

const sandbox: GatewayRegistration<SandboxGatewayConfig> = {
  type: 'sandbox',
  schema: ({z, strictObject, hostPort}) =>
    strictObject({
      type: z.literal('sandbox'),
      listen: hostPort().prefault(DEFAULTS.listen).describe('Where the sandbox proxy takes user traffic'),
      admin: hostPort().prefault(DEFAULTS.admin).describe('Where its control plane listens'),
    }),
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  async create(config, service) {
    const {SandboxGateway} = await import('./index.js')
    return new SandboxGateway(config, service)
  },
  status(g) {
    if (!onlyKeys(g, ['type', 'listen', 'admin'])) return null
    const listen = g.listen ?? DEFAULTS.listen
    const admin = g.admin ?? DEFAULTS.admin
    if (!isText(listen) || !isText(admin) || !HOST_PORT.test(listen) || !HOST_PORT.test(admin)) return null
    return {type: 'sandbox', listen, admin}
  },
  init: [{name: 'sandbox', summary: "the built-in sandbox gateway on this machine, gates on each host's /metrics", rank: 90}],
}

export default sandbox
