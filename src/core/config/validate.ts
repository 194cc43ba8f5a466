// Meaning checks on a config the schema accepted: things no single key can
// say wrong on its own (order of steps, hosts across pools, names that must
// refer to something, placeholders that can be filled where they stand).
import {gatewayRegistration} from '../../adapters/gateways/registry.js'
import type {GatewayCapabilities} from '../ports.js'
import {unknownPlaceholders} from '../template.js'
import {stickyText} from '../policy/document.js'
import {HOOK_STAGES, type GatewayConfig, type GrayConfig, type Rule} from './model.js'
import {describeFound, EnvFilled, problem, type ConfigPath} from './problems.js'

export const DEPLOY_PLACEHOLDERS = ['version', 'previousVersion', 'service', 'host.name', 'host.address'] as const
export const QUERY_PLACEHOLDERS = ['version', 'previousVersion', 'service', 'window', 'hosts'] as const
export const HOOK_PLACEHOLDERS = ['version', 'previousVersion', 'service'] as const

type Config = Omit<GrayConfig, 'file'>

/** Every meaning problem, in the order of the file; empty when the config makes sense. */
export function validateConfig(config: Config, filled: EnvFilled = new EnvFilled()): string[] {
  const found = (path: ConfigPath, value: unknown) => describeFound(value, filled.varsAt(path))
  return [
    ...hostProblems(config, found),
    ...placeholderProblems(config, found),
    ...stepProblems(config, found),
    ...checkProblems(config, found),
  ]
}

type Found = (path: ConfigPath, value: unknown) => string

function hostProblems(config: Config, found: Found): string[] {
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const pool of ['stable', 'gray'] as const) {
    config.hosts[pool].forEach((host, i) => {
      const path = ['hosts', pool, i]
      const first = seen.get(host.address) ?? seen.get(`name:${host.name}`)
      if (first === undefined) {
        seen.set(host.address, `hosts.${pool}[${i}]`)
        seen.set(`name:${host.name}`, `hosts.${pool}[${i}]`)
        return
      }
      const where = first.startsWith(`hosts.${pool}[`) ? 'listed once' : 'in only one pool'
      problems.push(problem(path, `must be ${where} (it is also ${first})`, found(path, host.address)))
    })
  }
  return problems
}

function placeholderProblems(config: Config, found: Found): string[] {
  const problems: string[] = []
  const check = (path: ConfigPath, template: string | undefined, allowed: readonly string[]) => {
    if (template === undefined) return
    const unknown = unknownPlaceholders(template, allowed)
    if (unknown.length === 0) return
    const vars = found(path, template)
    const shown = vars.startsWith('a value from') ? `an unknown placeholder in ${vars}` : unknown.map((name) => `{${name}}`).join(', ')
    const expected = allowed.length === 0 ? 'must not use placeholders: gray fills none here' : `may use only the placeholders ${allowed.map((name) => `{${name}}`).join(' ')}`
    problems.push(problem(path, expected, shown))
  }
  config.deploy.command.forEach((arg, i) => check(['deploy', 'command', i], arg, DEPLOY_PLACEHOLDERS))
  check(['deploy', 'health', 'url'], config.deploy.health?.url, DEPLOY_PLACEHOLDERS)
  for (const [name, source] of Object.entries(config.metrics)) {
    if (source.type === 'command') source.command.forEach((arg, i) => check(['metrics', name, 'command', i], arg, QUERY_PLACEHOLDERS))
  }
  config.gates?.checks.forEach((gate, i) => {
    for (const key of ['errors', 'total', 'query', 'release', 'histogram'] as const) check(['gates', 'checks', i, key], gate[key], QUERY_PLACEHOLDERS)
  })
  for (const stage of HOOK_STAGES) config.hooks?.[stage]?.forEach((arg, i) => check(['hooks', stage, i], arg, HOOK_PLACEHOLDERS))
  // where gray fills nothing (or only {service}), a placeholder would be sent as it stands, or fail mid-run;
  // each gateway names those keys in its registration
  const gateway = config.gateway as GatewayConfig & Record<string, unknown>
  for (const {key, allowed} of gatewayRegistration<GatewayConfig>(gateway.type).placeholders ?? []) {
    const value = gateway[key]
    if (typeof value === 'string') check(['gateway', key], value, allowed)
    else if (Array.isArray(value)) value.forEach((arg: unknown, i) => (typeof arg === 'string' ? check(['gateway', key, i], arg, allowed) : undefined))
  }
  for (const [name, source] of Object.entries(config.metrics)) {
    if (source.type === 'prometheus' || source.type === 'sentry') check(['metrics', name, 'url'], source.url, [])
  }
  config.notify.forEach((n, i) => check(['notify', i, 'webhook'], n.webhook, []))
  return problems
}

function stepProblems(config: Config, found: Found): string[] {
  const problems: string[] = []
  config.steps.forEach((step, i) => {
    const previous = config.steps[i - 1]
    if (previous && step.weight < previous.weight) {
      const path = ['steps', i, 'weight']
      problems.push(problem(path, `must not go down: at least the previous step's ${previous.weight}`, found(path, step.weight)))
    }
    // stable hosts from an inventory are counted once it is read (src/services/inventory.ts)
    if (step.hosts && 'count' in step.hosts && !config.inventory?.stable && step.hosts.count > config.hosts.stable.length) {
      const path = ['steps', i, 'hosts']
      const stable = config.hosts.stable.length
      problems.push(problem(path, `must be at most the ${stable} stable host${stable === 1 ? '' : 's'}`, found(path, step.hosts.count)))
    }
  })
  return problems
}

function checkProblems(config: Config, found: Found): string[] {
  const problems: string[] = []
  const names = new Map<string, number>()
  const sources = Object.keys(config.metrics)
  config.gates?.checks.forEach((gate, i) => {
    const at = (key: string): ConfigPath => ['gates', 'checks', i, key]
    const earlier = names.get(gate.name)
    if (earlier !== undefined) problems.push(problem(at('name'), `must be unique (gates.checks[${earlier}] has it too)`, found(at('name'), gate.name)))
    names.set(gate.name, i)

    // own keys only: `source: constructor` must not find Object's constructor
    const source = Object.hasOwn(config.metrics, gate.source) ? config.metrics[gate.source] : undefined
    if (!source) {
      const known = sources.length > 0 ? `one of the sources under metrics: ${sources.join(', ')}` : 'a source under metrics (there are none)'
      problems.push(problem(at('source'), `must be ${known}`, found(at('source'), gate.source)))
      return
    }
    const ratio = gate.errors !== undefined || gate.total !== undefined
    if (source.type === 'sentry') {
      if (gate.release === undefined) problems.push(problem(at('release'), `must be set: source ${gate.source} is sentry, which reads a release's crash-free rate`, 'nothing'))
      if (ratio) problems.push(problem(at(gate.errors !== undefined ? 'errors' : 'total'), `must be left out: source ${gate.source} is sentry, which reads release`, 'a query'))
      return
    }
    if (gate.release !== undefined) problems.push(problem(at('release'), `must be left out: only sentry sources read a release, ${gate.source} is ${source.type}`, found(at('release'), gate.release)))
    if (gate.histogram !== undefined) {
      if (source.type !== 'prometheus') problems.push(problem(at('histogram'), `must be left out: only prometheus sources read histogram buckets, ${gate.source} is ${source.type}`, found(at('histogram'), gate.histogram)))
      return
    }
    if (!ratio && gate.query === undefined) {
      problems.push(problem(['gates', 'checks', i], 'must have errors and total (a ratio check) or query (a value check)', 'neither'))
    }
  })
  return problems
}

/** Rules, sticky key and tag the chosen gateway cannot express; one message each. */
export function ruleSupportErrors(config: Pick<GrayConfig, 'gateway' | 'traffic'>, capabilities: GatewayCapabilities): string[] {
  const gateway = `the ${config.gateway.type} gateway`
  const problems: string[] = []
  config.traffic.rules.forEach((rule, i) => {
    if (!capabilities.rules.includes(rule.kind)) {
      problems.push(problem(['traffic', 'rules', i], `must be a rule ${gateway} can express (${capabilities.rules.join(', ') || 'none'})`, describeRule(rule)))
    }
  })
  const names = capabilities.headerName
  if (names) {
    config.traffic.rules.forEach((rule, i) => {
      if (rule.kind !== 'cidr' && rule.field.source === 'header' && !names.pattern.test(rule.field.name)) {
        problems.push(problem(['traffic', 'rules', i, 'header'], `must be ${names.expected}`, JSON.stringify(rule.field.name)))
      }
    })
  }
  const ranges = capabilities.cidr
  if (ranges) {
    config.traffic.rules.forEach((rule, i) => {
      if (rule.kind !== 'cidr') return
      rule.cidrs.forEach((cidr, j) => {
        if (!ranges.accepts(cidr)) problems.push(problem(['traffic', 'rules', i, 'ip', j], `must be ${ranges.expected}`, JSON.stringify(cidr)))
      })
    })
  }
  const sticky = config.traffic.sticky
  if (sticky.kind === 'header' && names && !names.pattern.test(sticky.name)) {
    problems.push(problem(['traffic', 'sticky'], `must name ${names.expected}`, JSON.stringify(`header:${sticky.name}`)))
  }
  if (!capabilities.sticky.includes(sticky.kind)) {
    problems.push(problem(['traffic', 'sticky'], `must be a key ${gateway} can split on (${capabilities.sticky.join(', ') || 'none'})`, stickyText(sticky)))
  }
  if (capabilities.stickySplit && capabilities.cohortSeed === false && config.traffic.rotate !== false) {
    problems.push(problem(['traffic', 'rotate'], `must be false: ${gateway} hashes the sticky key alone, so it cannot take a run's cohort seed`, 'true (the default)'))
  }
  if (config.traffic.tag && !capabilities.tag) {
    problems.push(problem(['traffic', 'tag'], `must be left out: ${capabilities.tagReason ?? `${gateway} cannot tag requests`}`, 'a tag'))
  }
  return problems
}

function describeRule(rule: Rule): string {
  return rule.kind === 'cidr' ? 'an ip rule' : `a ${rule.kind} rule on ${rule.field.source} ${rule.field.name}`
}

