// Builds the adapters a config names. Each is imported only when used, so a
// command that needs no gateway never loads one (fast start).
import type {GatewayConfig, GrayConfig, MetricSourceConfig} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import type {Deployer, Gateway, MetricSource} from '../core/ports.js'

export async function createGateway(config: Pick<GrayConfig, 'gateway' | 'service'>): Promise<Gateway> {
  const instances = 'instances' in config.gateway ? config.gateway.instances : undefined
  if (instances && instances.length > 0) {
    const {FleetGateway} = await import('./gateways/fleet.js')
    const {haproxyInstance} = await import('../core/config/haproxy-defaults.js')
    const gateway = config.gateway as Exclude<GatewayConfig, {type: 'sandbox'}>
    const members = await Promise.all(
      instances.map(async (instance: {name: string}) => {
        const {name, ...over} = instance
        const {instances: _all, ...base} = gateway
        const one = (gateway.type === 'haproxy' ? haproxyInstance(gateway, instance as never) : {...base, ...over}) as GatewayConfig
        return {name, gateway: await createGateway({service: config.service, gateway: one})}
      }),
    )
    return new FleetGateway(members)
  }
  const gateway = config.gateway
  switch (gateway.type) {
    case 'sandbox': {
      const {SandboxGateway} = await import('./gateways/sandbox/index.js')
      return new SandboxGateway(gateway, config.service)
    }
    case 'nginx': {
      const {NginxGateway} = await import('./gateways/nginx/index.js')
      return new NginxGateway(gateway, config.service)
    }
    case 'http': {
      const {HttpGateway} = await import('./gateways/http/index.js')
      return new HttpGateway(gateway, config.service)
    }
    case 'apisix': {
      const {ApisixGateway} = await import('./gateways/apisix/index.js')
      return new ApisixGateway(gateway, config.service)
    }
    case 'shenyu': {
      const {ShenyuGateway} = await import('./gateways/shenyu/index.js')
      return new ShenyuGateway(gateway, config.service)
    }
    case 'bfe': {
      if (gateway.mode === 'api') {
        const {BfeApiGateway} = await import('./gateways/bfe/api.js')
        return new BfeApiGateway(gateway, config.service)
      }
      const {BfeGateway} = await import('./gateways/bfe/index.js')
      return new BfeGateway(gateway, config.service)
    }
    case 'haproxy': {
      const {HaproxyGateway} = await import('./gateways/haproxy/index.js')
      return new HaproxyGateway(gateway, config.service)
    }
    default: {
      const type = (gateway as {type: string}).type
      throw new ConfigError(`gateway.type: the ${type} gateway is not available in this version of gray, got "${type}"`, 'use type: nginx, haproxy, bfe, apisix, shenyu, http or sandbox')
    }
  }
}

export async function createSource(name: string, source: MetricSourceConfig): Promise<MetricSource> {
  switch (source.type) {
    case 'scrape': {
      const {ScrapeSource} = await import('./metrics/scrape/index.js')
      return new ScrapeSource(source)
    }
    case 'prometheus': {
      const {PrometheusSource} = await import('./metrics/prometheus/index.js')
      return new PrometheusSource(source)
    }
    case 'sentry': {
      const {SentrySource} = await import('./metrics/sentry/index.js')
      return new SentrySource(source)
    }
    case 'command': {
      const {CommandMetricSource} = await import('./metrics/command/index.js')
      return new CommandMetricSource(source)
    }
    default: {
      // unreachable for a validated config: every source type has a case above
      const type = (source as {type: string}).type
      throw new ConfigError(`metrics.${name}.type: the ${type} source is not available in this version of gray, got "${type}"`, 'use type: scrape, prometheus, sentry or command')
    }
  }
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
