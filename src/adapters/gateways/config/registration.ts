// The config "gateway" of a run of kind config (docs/config-release.md): no traffic is routed;
// the run's steps publish, in a config store, the share of users who read the gray value.
// gray.yaml writes it as the top-level `config:` block (src/core/config/config-run.ts), never
// under `gateway:`; the engine reaches it like any gateway.
import path from 'node:path'

import {EVERY_KEY, EVERY_RULE, type GatewayRegistration} from '../registration.js'

/** The config stores gray can release into; one folder each in src/adapters/config-stores/. */
export const CONFIG_STORES = ['etcd'] as const
export type ConfigStoreType = (typeof CONFIG_STORES)[number]

export interface ConfigGatewayConfig {
  type: 'config'
  store: ConfigStoreType
  /** the store's client URLs, tried in order */
  endpoints: string[]
  /** the official key, which every reader outside gray reads */
  key: string
  /** the gray value, read by gray users while the run lasts (default `<key>.gray`) */
  grayKey: string
  /** the policy document that says who is a gray user (default `<key>.gray-policy`) */
  policyKey: string
  /** the file holding the new value; absolute once loaded */
  valueFile: string
  username?: string
  password?: string
  timeoutMs: number
}

const config: GatewayRegistration<ConfigGatewayConfig> = {
  type: 'config',
  // never offered under `gateway:`; the `config:` block has its own schema
  schema: ({z}) => z.never(),
  paths: (c, dir) => ({...c, valueFile: path.resolve(dir, c.valueFile)}),
  // its secrets are config.password and the endpoints' user info (src/core/config/secrets.ts)
  // readers decide with gray-release/cohort, which reads every rule and key, and tags
  capabilities: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  async create(c, service) {
    const [{ConfigGateway}, {createConfigStore}] = await Promise.all([import('./index.js'), import('../../config-stores/registry.js')])
    return new ConfigGateway(c, service, await createConfigStore(c))
  },
}

export default config
