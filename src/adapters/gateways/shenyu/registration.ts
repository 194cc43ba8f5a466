// The ShenYu gateway: two divide-plugin selectors for the service, through the Admin API.
import type {GatewayInstance} from '../../../core/config/model.js'
import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'
import {OCTET_CIDR_EXPECTED, octetCidrRegex} from './cidr.js'

export interface ShenyuGatewayConfig {
  type: 'shenyu'
  /** the ShenYu Admin API, like http://127.0.0.1:9095 */
  url: string
  userName: string
  password: string
  instances?: GatewayInstance<ShenyuGatewayConfig>[]
}

const shenyu: GatewayRegistration<ShenyuGatewayConfig> = {
  type: 'shenyu',
  schema: ({z, strictObject, text, httpUrl, instances}) =>
    strictObject({
      type: z.literal('shenyu'),
      url: httpUrl('the ShenYu Admin API URL, like http://127.0.0.1:9095').describe('ShenYu Admin API: gray owns two divide-plugin selectors for the service'),
      userName: text('the Admin API user').prefault('admin'),
      password: text('the Admin API password, e.g. ${SHENYU_PASSWORD}').describe('A secret: keep it in the environment'),
      instances: instances({url: httpUrl().optional(), password: text().optional()}),
    }),
  secrets: {credentials: ['password'], urls: ['url']},
  // the divide plugin picks an upstream per request by weight and cannot set a header for gray upstreams only
  // and matches a client IP by its text (regex), so only octet-boundary IPv4 ranges
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: false, tag: false, cidr: {accepts: (cidr) => octetCidrRegex(cidr) !== null, expected: OCTET_CIDR_EXPECTED}},
  async create(config, service) {
    const {ShenyuGateway} = await import('./index.js')
    return new ShenyuGateway(config, service)
  },
  init: [{name: 'shenyu-prometheus', summary: 'Apache ShenYu divide plugin (Admin API; per-request weights), gates on Prometheus queries', rank: 50}],
}

export default shenyu
