// The haproxy gateway: a configuration fragment gray owns, steps through the Runtime API.
import type {GatewayInstance} from '../../../core/config/model.js'
import {isArgv, isText, onlyKeys} from '../../../core/config/plain.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'
import {haproxyDefaults, haproxyInstance, haproxyPaths} from './defaults.js'

export interface HaproxyGatewayConfig {
  type: 'haproxy'
  /** the configuration fragment gray owns (loaded with its own -f) */
  fragment: string
  /** the Runtime API: a unix socket path, or ipv4@host:port */
  socket: string
  /** bind lines of gray's frontend for the service */
  bind: string[]
  test: string[]
  reload: string[]
  instances?: GatewayInstance<HaproxyGatewayConfig>[]
}

const DEFAULTS = {socket: '/run/haproxy/admin.sock', reload: ['systemctl', 'reload', 'haproxy']}
const BIND_LINE = /^[^\s#'"\\][^#'"\\\r\n]*$/

const haproxy: GatewayRegistration<HaproxyGatewayConfig> = {
  type: 'haproxy',
  schema: ({z, strictObject, text, argv, instances}) =>
    strictObject({
      type: z.literal('haproxy'),
      fragment: text('the path of the configuration fragment gray owns').describe('File gray owns, loaded with its own -f beside haproxy.cfg'),
      socket: text('the Runtime API socket').prefault(DEFAULTS.socket).describe('Runtime API (stats socket, level admin): a unix path or ipv4@host:port'),
      bind: z
        .array(
          z
            .string({error: 'must be an HAProxy bind line such as 127.0.0.1:8080'})
            .regex(BIND_LINE, {error: 'must be one HAProxy bind line such as 127.0.0.1:8080, without quotes, # or line breaks'}),
          {error: 'must be a list of HAProxy bind lines'},
        )
        .min(1, {error: 'must list at least one bind line'})
        .optional()
        .describe("Where gray's frontend listens; default abns@gray_<service> accept-proxy"),
      test: argv().optional().describe('Checks the configuration; default haproxy -c -f /etc/haproxy/haproxy.cfg -f <fragment>'),
      reload: argv().prefault(DEFAULTS.reload).describe('Hitless reload (master-worker)'),
      instances: instances({
        fragment: text('the path of the configuration fragment gray owns').optional(),
        socket: text('the Runtime API socket').optional(),
        test: argv().optional(),
        reload: argv().optional(),
      }),
    }),
  complete: (g, service) => haproxyDefaults(g, service),
  paths: haproxyPaths,
  instance: (g, instance) => haproxyInstance(g, instance),
  secrets: {argv: ['test', 'reload']},
  // maps and ACLs in gray's own frontend; the split is xxh32(key) mod 10000 (src/core/policy/split.ts)
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  hash: 'xxh32',
  async create(config, service) {
    const {HaproxyGateway} = await import('./index.js')
    return new HaproxyGateway(config, service)
  },
  status(g, service, dir) {
    if (!onlyKeys(g, ['type', 'fragment', 'socket', 'bind', 'test', 'reload']) || !isText(g.fragment)) return null
    const socket = g.socket ?? DEFAULTS.socket
    const reload = g.reload ?? DEFAULTS.reload
    if (!isText(socket) || !isArgv(reload) || (g.test !== undefined && !isArgv(g.test))) return null
    if (g.bind !== undefined && !(isArgv(g.bind) && g.bind.every((b) => BIND_LINE.test(b)))) return null
    return haproxyPaths(haproxyDefaults({type: 'haproxy', fragment: g.fragment, socket, bind: g.bind, test: g.test, reload}, service), dir)
  },
  init: [{name: 'haproxy-prometheus', summary: 'HAProxy in front of your hosts (Runtime API, no reload per step), gates on Prometheus queries', rank: 20}],
}

export default haproxy
