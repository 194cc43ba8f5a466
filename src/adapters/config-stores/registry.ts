// Every config store gray releases into, one line each: the store's adapter, imported only
// when a run of kind config needs it. A new store (Consul, an HTTP config service) is a folder
// here implementing ConfigStore (src/core/config-store.ts), a line below and its name in
// CONFIG_STORES (src/adapters/gateways/config/registration.ts).
import type {ConfigGatewayConfig, ConfigStoreType} from '../gateways/config/registration.js'
import type {ConfigStore} from '../../core/config-store.js'

const STORES: Record<ConfigStoreType, (config: ConfigGatewayConfig) => Promise<ConfigStore>> = {
  async etcd(c) {
    const {EtcdStore} = await import('./etcd/index.js')
    return new EtcdStore({endpoints: c.endpoints, timeoutMs: c.timeoutMs, ...(c.username ? {username: c.username} : {}), ...(c.password ? {password: c.password} : {})})
  },
}

export function createConfigStore(config: ConfigGatewayConfig): Promise<ConfigStore> {
  return STORES[config.store](config)
}
