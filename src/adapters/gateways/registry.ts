// Every gateway gray knows, one line each. A gateway lives in its folder and
// declares itself in <type>/registration.ts (schema, defaults, capabilities,
// loader, what `status` reads, init templates); the config schema, the factory,
// the capabilities table, `gray init` and the generated schemas read this list.
// The order is the order gray.yaml's schema lists the types in.
import sandbox from './sandbox/registration.js'
import nginx from './nginx/registration.js'
import apisix from './apisix/registration.js'
import http from './http/registration.js'
import haproxy from './haproxy/registration.js'
import bfe from './bfe/registration.js'
import shenyu from './shenyu/registration.js'
import config from './config/registration.js'
import type {GatewayRegistration} from './registration.js'

export const GATEWAYS = [sandbox, nginx, apisix, http, haproxy, bfe, shenyu] as const

type ConfigOf<R> = R extends GatewayRegistration<infer C> ? C : never

/** The gateway block of the normalised config: one of the registered gateways' configs (or a config run's store). */
export type RegisteredGatewayConfig = ConfigOf<(typeof GATEWAYS)[number]> | ConfigOf<typeof config>

// a run of kind config reaches its store as a gateway; gray.yaml never names it under `gateway:`
const BY_TYPE = new Map<string, GatewayRegistration>([...GATEWAYS, config].map((g) => [g.type, g as unknown as GatewayRegistration]))

/** The registration of a gateway type, or undefined for a type gray does not know. */
export function findGateway<C extends {type: string}>(type: string): GatewayRegistration<C> | undefined {
  return BY_TYPE.get(type) as GatewayRegistration<C> | undefined
}

/** The registration of a gateway type a validated config names. */
export function gatewayRegistration<C extends {type: string}>(type: C['type']): GatewayRegistration<C> {
  const found = findGateway<C>(type)
  if (!found) throw new Error(`no gateway registration for type "${type}"`)
  return found
}
