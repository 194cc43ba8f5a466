// The BFE gateway: route rules and GSLB files in BFE's conf dir, reloaded through its monitor port.
import path from 'node:path'

import type {GatewayInstance} from '../../../core/config/model.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

export interface BfeGatewayConfig {
  type: 'bfe'
  /** BFE's conf directory (server_data_conf/, cluster_conf/, mod_header/ below it) */
  conf: string
  /** BFE's monitor port, where /reload/NAME reloads a config */
  monitor: string
  /** the BFE product whose route rules gray owns */
  product: string
  instances?: GatewayInstance<BfeGatewayConfig>[]
}

const bfe: GatewayRegistration<BfeGatewayConfig> = {
  type: 'bfe',
  schema: ({z, strictObject, text, httpUrl, label, instances}) =>
    strictObject({
      type: z.literal('bfe'),
      conf: text("BFE's conf directory").describe('BFE conf dir: gray rewrites its product in route_rule.data, its clusters, gslb.data and header_rule.data'),
      monitor: httpUrl("BFE's monitor address, like http://127.0.0.1:8421").describe('Monitor port: /reload/server_data_conf, /reload/gslb_data_conf, /reload/mod_header'),
      product: label('a BFE product name').describe('The product whose route rules gray owns'),
      instances: instances({conf: text("BFE's conf directory").optional(), monitor: httpUrl().optional()}),
    }),
  paths: (g, dir) => ({
    ...g,
    conf: path.resolve(dir, g.conf),
    ...(g.instances ? {instances: g.instances.map((i) => (i.conf === undefined ? i : {...i, conf: path.resolve(dir, i.conf)}))} : {}),
  }),
  secrets: {urls: ['monitor']},
  // route rules with *_value_in / _prefix_in / _regmatch / req_cip_range; the split is req_*_hash_in (murmur3 % 10000)
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  hash: 'murmur3',
  async load() {
    const {BfeGateway} = await import('./index.js')
    return (config, service) => new BfeGateway(config, service)
  },
  init: [{name: 'bfe-prometheus', summary: 'BFE (route rules and GSLB files, monitor-port reloads), gates on Prometheus queries', rank: 40}],
}

export default bfe
