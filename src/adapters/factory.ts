// Builds the adapters a config names, through their registrations. Each is
// imported only when used, so a command that needs no gateway never loads one (fast start).
import type {GatewayConfig, GatewayInstance, GrayConfig, MetricSourceConfig} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import type {Deployer, Gateway, MetricSource} from '../core/ports.js'
import {findGateway, GATEWAYS} from './gateways/registry.js'
import {findSource, METRIC_SOURCES} from './metrics/registry.js'

export async function createGateway(config: Pick<GrayConfig, 'gateway' | 'service'>): Promise<Gateway> {
  const gateway = config.gateway
  const registration = findGateway<GatewayConfig>(gateway.type)
  if (!registration) {
    // unreachable for a validated config: every gateway type has a registration
    const type = (gateway as {type: string}).type
    throw new ConfigError(`gateway.type: the ${type} gateway is not available in this version of gray, got "${type}"`, `use type: ${GATEWAYS.map((g) => g.type).join(', ')}`)
  }
  const instances = 'instances' in gateway ? gateway.instances : undefined
  if (instances && instances.length > 0) {
    const {FleetGateway} = await import('./gateways/fleet.js')
    const members = await Promise.all(
      instances.map(async (instance: GatewayInstance<GatewayConfig>) => {
        const {name, ...over} = instance
        const {instances: _all, ...base} = gateway as GatewayConfig & {instances?: unknown}
        const one = (registration.instance ? registration.instance(gateway, instance) : {...base, ...over}) as GatewayConfig
        return {name, gateway: await createGateway({service: config.service, gateway: one})}
      }),
    )
    return new FleetGateway(members)
  }
  return registration.create(gateway, config.service)
}

export async function createSource(name: string, source: MetricSourceConfig): Promise<MetricSource> {
  const registration = findSource<MetricSourceConfig>(source.type)
  if (!registration) {
    // unreachable for a validated config: every source type has a registration
    const type = (source as {type: string}).type
    throw new ConfigError(`metrics.${name}.type: the ${type} source is not available in this version of gray, got "${type}"`, `use type: ${METRIC_SOURCES.map((m) => m.type).join(', ')}`)
  }
  return registration.create(source)
}

export async function createSources(config: GrayConfig): Promise<Record<string, MetricSource>> {
  const used = new Set((config.gates?.checks ?? []).map((c) => c.source))
  const entries = await Promise.all(
    Object.entries(config.metrics)
      .filter(([name]) => used.has(name))
      .map(async ([name, source]) => [name, await createSource(name, source)] as const),
  )
  return Object.fromEntries(entries)
}

export async function createDeployer(config: GrayConfig): Promise<Deployer> {
  const {CommandDeployer} = await import('./deploy/command.js')
  return new CommandDeployer(config.deploy)
}
