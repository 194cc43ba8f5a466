// The BFE gateway: in files mode, route rules and GSLB files in BFE's conf dir,
// reloaded through its monitor port; in api mode, BFE's API server.
import path from 'node:path'

import type {GatewayInstance} from '../../../core/config/model.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

export interface BfeGatewayConfig {
  type: 'bfe'
  /** files (the default): gray writes BFE's conf files and reloads them */
  mode?: 'files'
  /** BFE's conf directory (server_data_conf/, cluster_conf/, mod_header/ below it) */
  conf: string
  /** BFE's monitor port, where /reload/NAME reloads a config */
  monitor: string
  /** the BFE product whose route rules gray owns */
  product: string
  instances?: GatewayInstance<BfeGatewayConfig>[]
}

/** BFE through its API server (bfenetworks/api-server open-api), which conf-agent exports to BFE */
export interface BfeApiGatewayConfig {
  type: 'bfe'
  mode: 'api'
  /** the API server, like http://127.0.0.1:8183 (gray adds /open-api/v1) */
  url: string
  /** an API token (Authorization: Token …), with the Product scope of `product` */
  token: string
  /** the BFE product whose routes and clusters gray owns */
  product: string
  /** the BFE clusters (BFE instance pools) whose scheduler sends gray's clusters to their sub-cluster */
  bfeClusters: string[]
  instances?: GatewayInstance<BfeApiGatewayConfig>[]
}

const bfe: GatewayRegistration<BfeGatewayConfig | BfeApiGatewayConfig> = {
  type: 'bfe',
  schema: ({z, strictObject, text, httpUrl, label, instances}) =>
    strictObject({
      type: z.literal('bfe'),
      mode: z.enum(['files', 'api'], {error: 'must be files or api'}).prefault('files').describe("files: gray writes BFE's conf files and reloads them; api: through BFE's API server"),
      conf: text("BFE's conf directory").optional().describe('mode files — BFE conf dir: gray rewrites its product in route_rule.data, its clusters, gslb.data and header_rule.data'),
      monitor: httpUrl("BFE's monitor address, like http://127.0.0.1:8421").optional().describe('mode files — monitor port: /reload/server_data_conf, /reload/gslb_data_conf, /reload/mod_header'),
      url: httpUrl("BFE's API server, like http://127.0.0.1:8183").optional().describe('mode api — the API server (gray calls /open-api/v1 below it)'),
      token: text('a BFE API token, e.g. ${BFE_TOKEN}').optional().describe('mode api — a token with the Product scope (Authorization: Token …); a secret: keep it in the environment'),
      bfeClusters: z.array(text('a BFE cluster name'), {error: 'must be a list of BFE cluster names'}).min(1, {error: 'must list at least one BFE cluster'}).optional().describe("mode api — the BFE clusters in the scheduler of gray's clusters"),
      product: label('a BFE product name').describe('The product whose route rules gray owns'),
      instances: instances({conf: text("BFE's conf directory").optional(), monitor: httpUrl().optional(), url: httpUrl().optional(), token: text().optional()}),
    })
      .superRefine((input, ctx) => {
        const own = input.mode === 'api' ? (['url', 'token', 'bfeClusters'] as const) : (['conf', 'monitor'] as const)
        const other = input.mode === 'api' ? (['conf', 'monitor'] as const) : (['url', 'token', 'bfeClusters'] as const)
        for (const key of own) if (input[key] === undefined) ctx.addIssue({code: 'custom', path: [key], message: `must be set for mode: ${input.mode}`, params: {found: 'nothing'}})
        for (const key of other) if (input[key] !== undefined) ctx.addIssue({code: 'custom', path: [key], message: `must be left out: mode ${input.mode} does not use it`})
        for (const [i, one] of (input.instances ?? []).entries()) {
          for (const key of ['conf', 'monitor', 'url', 'token'] as const) {
            if (one[key] !== undefined && (other as readonly string[]).includes(key)) ctx.addIssue({code: 'custom', path: ['instances', i, key], message: `must be left out: mode ${input.mode} does not use it`})
          }
        }
      })
      .transform(({mode, conf, monitor, url, token, bfeClusters, product, instances}): BfeGatewayConfig | BfeApiGatewayConfig =>
        mode === 'api'
          ? {type: 'bfe', mode, url: url as string, token: token as string, bfeClusters: bfeClusters as string[], product, ...(instances ? {instances: instances.map(({name, url, token}) => ({name, ...(url ? {url} : {}), ...(token ? {token} : {})}))} : {})}
          : {type: 'bfe', conf: conf as string, monitor: monitor as string, product, ...(instances ? {instances: instances.map(({name, conf, monitor}) => ({name, ...(conf ? {conf} : {}), ...(monitor ? {monitor} : {})}))} : {})},
      ),
  // api mode names no paths
  paths: (g, dir) =>
    g.mode === 'api'
      ? g
      : {
          ...g,
          conf: path.resolve(dir, g.conf),
          ...(g.instances ? {instances: g.instances.map((i) => (i.conf === undefined ? i : {...i, conf: path.resolve(dir, i.conf)}))} : {}),
        },
  secrets: {credentials: ['token'], urls: ['monitor', 'url']},
  // route rules with *_value_in / _prefix_in / _regmatch / req_cip_range; the split is req_*_hash_in (murmur3 % 10000)
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  hash: 'murmur3',
  async create(config, service) {
    if (config.mode === 'api') {
      const {BfeApiGateway} = await import('./api.js')
      return new BfeApiGateway(config, service)
    }
    const {BfeGateway} = await import('./index.js')
    return new BfeGateway(config, service)
  },
  init: [
    {name: 'bfe-prometheus', summary: 'BFE (route rules and GSLB files, monitor-port reloads), gates on Prometheus queries', rank: 40},
    {name: 'bfe-api-prometheus', summary: 'BFE through its API server (routes, clusters, schedulers; token auth), gates on Prometheus queries', rank: 45},
  ],
}

export default bfe
