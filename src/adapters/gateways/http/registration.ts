// The http gateway: a control plane of your own that takes gray's policy document.
import type {GatewayInstance} from '../../../core/config/model.js'
import {isText, onlyKeys} from '../../../core/config/plain.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

export interface HttpGatewayConfig {
  type: 'http'
  url: string
  token?: string
  instances?: GatewayInstance<HttpGatewayConfig>[]
}

const http: GatewayRegistration<HttpGatewayConfig> = {
  type: 'http',
  schema: ({z, strictObject, text, httpUrl, instances}) =>
    strictObject({
      type: z.literal('http'),
      url: httpUrl(),
      token: text().optional(),
      instances: instances({url: httpUrl().optional(), token: text().optional()}),
    }),
  secrets: {credentials: ['token'], urls: ['url']},
  // gray fills {service} in the URL and nothing else
  placeholders: [{key: 'url', allowed: ['service']}],
  // the control plane behind it routes; the document carries everything
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  async create(config, service) {
    const {HttpGateway} = await import('./index.js')
    return new HttpGateway(config, service)
  },
  status(g) {
    if (!onlyKeys(g, ['type', 'url', 'token']) || !isText(g.url) || !/^https?:\/\//.test(g.url)) return null
    if (g.token !== undefined && !isText(g.token)) return null
    return {type: 'http', url: g.url, ...(g.token === undefined ? {} : {token: g.token})}
  },
}

export default http
