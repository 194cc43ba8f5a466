// The nginx gateway: an include file gray owns (split_clients, maps), then test and reload.
import path from 'node:path'

import type {GatewayInstance} from '../../../core/config/model.js'
import {isArgv, isText, onlyKeys} from '../../../core/config/plain.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

export interface NginxGatewayConfig {
  type: 'nginx'
  include: string
  variable: string
  test: string[]
  reload: string[]
  instances?: GatewayInstance<NginxGatewayConfig>[]
}

const NGINX_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/
const DEFAULTS = {test: ['nginx', '-t'], reload: ['nginx', '-s', 'reload']}
const variableFor = (service: string) => `gray_${service.replace(/[^A-Za-z0-9_]/g, '_')}_upstream`

const nginx: GatewayRegistration<NginxGatewayConfig> = {
  type: 'nginx',
  schema: ({z, strictObject, text, argv, instances}) =>
    strictObject({
      type: z.literal('nginx'),
      include: text('the path of the include file gray owns').describe('File gray owns, included inside http {}'),
      variable: z
        .string({error: 'must be an nginx variable name without $'})
        .regex(NGINX_VARIABLE, {error: 'must be an nginx variable name without $'})
        .optional()
        .describe('Variable to proxy to; default gray_<service>_upstream'),
      test: argv().prefault(DEFAULTS.test),
      reload: argv().prefault(DEFAULTS.reload),
      instances: instances({include: text('the path of the include file gray owns').optional(), test: argv().optional(), reload: argv().optional()}),
    }),
  complete: (g, service) => ({...g, variable: g.variable ?? variableFor(service)}),
  paths: (g, dir) => ({
    ...g,
    include: path.resolve(dir, g.include),
    ...(g.instances ? {instances: g.instances.map((i) => (i.include === undefined ? i : {...i, include: path.resolve(dir, i.include)}))} : {}),
  }),
  secrets: {argv: ['test', 'reload']},
  placeholders: [
    {key: 'test', allowed: []},
    {key: 'reload', allowed: []},
  ],
  // nginx drops header names with characters other than letters, digits and "-" (underscores_in_headers off)
  capabilities: {
    rules: EVERY_RULE,
    sticky: EVERY_KEY,
    stickySplit: true,
    tag: true,
    headerName: {pattern: /^[A-Za-z0-9-]+$/, expected: 'a header name nginx reads: letters, digits and "-" only (it drops names with "_" by default)'},
  },
  async create(config, service) {
    const {NginxGateway} = await import('./index.js')
    return new NginxGateway(config, service)
  },
  status(g, service, dir) {
    if (!onlyKeys(g, ['type', 'include', 'variable', 'test', 'reload']) || !isText(g.include)) return null
    const variable = g.variable ?? variableFor(service)
    const test = g.test ?? DEFAULTS.test
    const reload = g.reload ?? DEFAULTS.reload
    if (!isText(variable) || !NGINX_VARIABLE.test(variable) || !isArgv(test) || !isArgv(reload)) return null
    return {type: 'nginx', include: path.resolve(dir, g.include), variable, test, reload}
  },
  init: [{name: 'nginx-prometheus', summary: 'nginx in front of your hosts, gates on Prometheus queries', rank: 10}],
}

export default nginx
