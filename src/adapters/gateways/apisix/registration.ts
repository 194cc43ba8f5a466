// The APISIX gateway: a route's traffic-split plugin, through the Admin API.
import type {GatewayInstance} from '../../../core/config/model.js'
import {isText, onlyKeys} from '../../../core/config/plain.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

export interface ApisixGatewayConfig {
  type: 'apisix'
  url: string
  routeId: string
  key?: string
  instances?: GatewayInstance<ApisixGatewayConfig>[]
}

const apisix: GatewayRegistration<ApisixGatewayConfig> = {
  type: 'apisix',
  schema: ({z, strictObject, text, httpUrl, wholeNumber, instances}) =>
    strictObject({
      type: z.literal('apisix'),
      url: httpUrl('the Admin API URL, like http://127.0.0.1:9180'),
      routeId: z
        .union([text(), wholeNumber(0)], {error: 'must be the APISIX route id'})
        .transform((id) => String(id)),
      key: text().optional(),
      instances: instances({url: httpUrl('the Admin API URL, like http://127.0.0.1:9180').optional(), key: text().optional()}),
    }),
  secrets: {credentials: ['key'], urls: ['url']},
  placeholders: [{key: 'url', allowed: []}],
  // traffic-split picks an upstream per request (weighted round robin) and cannot set a header on gray requests only
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: false, tag: false},
  async create(config, service) {
    const {ApisixGateway} = await import('./index.js')
    return new ApisixGateway(config, service)
  },
  status(g) {
    if (!onlyKeys(g, ['type', 'url', 'routeId', 'key']) || !isText(g.url) || !/^https?:\/\//.test(g.url)) return null
    const routeId = typeof g.routeId === 'number' && Number.isInteger(g.routeId) && g.routeId >= 0 ? String(g.routeId) : g.routeId
    if (!isText(routeId) || (g.key !== undefined && !isText(g.key))) return null
    return {type: 'apisix', url: g.url, routeId, ...(g.key === undefined ? {} : {key: g.key})}
  },
  init: [{name: 'apisix-prometheus', summary: 'Apache APISIX (Admin API), gates on Prometheus queries', rank: 30}],
}

export default apisix
