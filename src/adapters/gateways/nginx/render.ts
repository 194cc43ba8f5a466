// A Policy as the one include file gray owns inside nginx's http {} context.
// Routing reads top to bottom like decide.ts: rules first, then the sticky
// split (gray first, so cohorts nest as the weight grows), no key → stable.
import type {Host, Rule} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import {stickyText} from '../../../core/policy/document.js'
import {FULL_WEIGHT_BP, percentText, SEED_PATTERN} from '../../../core/policy/hash.js'
import type {Policy} from '../../../core/ports.js'
import {configCidr, oneLine} from '../file-gateway.js'
import {fieldVariable, stickyVariable} from './names.js'
import {integerRangePattern, regexLiteral} from '../patterns.js'
import {quoted, regexKey, singleQuoted} from './syntax.js'

export interface RenderOptions {
  /** the variable users proxy_pass to, e.g. gray_checkout_upstream */
  variable: string
  /** unix socket on which nginx itself answers which policy it has loaded */
  statusSocket: string
}

/** the path on the status socket that answers the loaded policy */
export const STATUS_PATH = '/gray/policy'

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/

export function upstreamNames(service: string): {stable: string; gray: string} {
  const safe = service.replace(/[^A-Za-z0-9_-]/g, '_')
  return {stable: `gray_${safe}_stable`, gray: `gray_${safe}_gray`}
}

export function renderInclude(policy: Policy, options: RenderOptions): string {
  const v = options.variable
  const names = upstreamNames(policy.service)
  if (policy.stable.length === 0) {
    throw new GatewayError(`The policy for ${policy.service} has no stable hosts; list hosts.stable in gray.yaml.`, {permanent: true})
  }
  const split = policy.mode === 'split'
  if (split && policy.gray.length === 0 && (policy.weightBp > 0 || policy.rules.length > 0)) {
    throw new GatewayError(`The policy for ${policy.service} sends traffic to gray but lists no gray hosts; list hosts.gray in gray.yaml.`, {permanent: true})
  }

  const sections: string[] = [header(policy, v)]
  sections.push(upstream(names.stable, policy.stable), upstream(names.gray, policy.gray))

  if (split) {
    const ruleVariables: string[] = []
    policy.rules.forEach((rule, i) => {
      const name = `${v}_rule${i + 1}`
      sections.push(...ruleBlocks(rule, name, `${v}_field${i + 1}`, i + 1))
      ruleVariables.push(`$${name}`)
    })
    const weighted = weightedTarget(policy, v, names, sections)
    sections.push(
      [
        `# the variable to proxy to: a request matching any rule goes to gray, the others as the split says`,
        `map ${quoted(ruleVariables.join(''))} $${v} {`,
        ...(ruleVariables.length > 0 ? [`    "" ${weighted};`, `    default ${names.gray};`] : [`    default ${weighted};`]),
        '}',
      ].join('\n'),
    )
  } else {
    sections.push([`# plain: every request goes to stable`, `map "" $${v} {`, `    default ${names.stable};`, '}'].join('\n'))
  }

  sections.push(tagBlocks(policy, v, names.gray), `geo $${v}_revision {\n    default ${quoted(policy.revision)};\n}`)
  sections.push(statusServer(policy, options.statusSocket))
  return `${sections.join('\n\n')}\n`
}

function header(policy: Policy, v: string): string {
  const what =
    policy.mode === 'plain'
      ? 'plain (no split, no rules): all traffic to stable'
      : `split: gray weight ${percentText(policy.weightBp)} (${policy.weightBp} basis points) on ${stickyText(policy.sticky)}${policy.seed ? ` (cohort seed ${oneLine(policy.seed)})` : ''}, ${policy.rules.length} rule(s)`
  return [
    `# Written by gray for service ${oneLine(policy.service)}. gray replaces this file on every publish: do not edit it.`,
    `# revision: ${oneLine(policy.revision)}`,
    `# ${what}`,
    '# Include it inside http {} and, in the server that serves the service:',
    `#   proxy_pass http://$${v};`,
    ...(policy.tag ? [`#   proxy_set_header ${oneLine(policy.tag.header)} $${v}_tag;`] : []),
    `#   add_header X-Gray-Revision $${v}_revision always;   # optional`,
  ].join('\n')
}

function upstream(name: string, hosts: Host[]): string {
  const servers = hosts.map((host) => {
    if (!ADDRESS.test(host.address)) {
      throw new GatewayError(`Host ${oneLine(host.name)} has address "${oneLine(host.address)}", which is not host:port; fix it in gray.yaml.`, {permanent: true})
    }
    return `    server ${host.address};`
  })
  // an upstream needs a server; this one is never routed to (render refuses gray traffic without gray hosts)
  if (servers.length === 0) servers.push('    server 127.0.0.1:1 down;')
  return [`upstream ${name} {`, ...servers, '}'].join('\n')
}

function ruleBlocks(rule: Rule, name: string, fieldName: string, number: number): string[] {
  if (rule.kind === 'cidr') {
    const cidrs = rule.cidrs.map(configCidr)
    return [[`# rule ${number}: client address in ${cidrs.join(', ')}`, `geo $${name} {`, '    default "";', ...cidrs.map((c) => `    ${c} 1;`), '}'].join('\n')]
  }
  const field = fieldVariable(rule.field, fieldName)
  const [pattern, said] = rulePattern(rule)
  return [
    ...field.blocks,
    [`# rule ${number}: ${rule.field.source} ${oneLine(rule.field.name)} ${oneLine(said)}`, `map ${field.variable} $${name} {`, `    ${regexKey(pattern)} 1;`, '    default "";', '}'].join('\n'),
  ]
}

function rulePattern(rule: Exclude<Rule, {kind: 'cidr'}>): [string, string] {
  switch (rule.kind) {
    case 'equals':
      return [`^${regexLiteral(rule.value)}$`, `equals ${JSON.stringify(rule.value)}`]
    case 'in':
      return [`^(?:${rule.values.map(regexLiteral).join('|')})$`, `in ${JSON.stringify(rule.values)}`]
    case 'prefix':
      return [`^${regexLiteral(rule.value)}`, `starts with ${JSON.stringify(rule.value)}`]
    case 'range':
      return [`^${integerRangePattern(rule.min, rule.max)}$`, `is a whole number in [${rule.min}, ${rule.max}]`]
  }
}

/** The weighted part's target: a constant upstream, or the split variable guarded against a missing key. */
function weightedTarget(policy: Policy, v: string, names: {stable: string; gray: string}, sections: string[]): string {
  if (policy.weightBp <= 0) return names.stable
  // at full weight every request goes to gray, also one without the key
  if (policy.weightBp >= FULL_WEIGHT_BP) return names.gray
  const key = stickyVariable(policy.sticky, `${v}_key`)
  // 8 hex digits (the document's schema): nothing nginx reads as a variable or a quote
  const seed = policy.seed && SEED_PATTERN.test(policy.seed) ? policy.seed : ''
  if (policy.seed && !seed) throw new GatewayError(`The policy for ${policy.service} has cohort seed "${oneLine(policy.seed)}", which is not 8 hex digits.`, {permanent: true})
  sections.push(...key.blocks)
  sections.push(
    [
      `# percentage split on ${stickyText(policy.sticky)}: gray is the first part, so a user in gray stays in gray as the weight grows`,
      ...(seed ? [`# the run's cohort seed ${seed} comes first in what is hashed, so another run picks other users`] : []),
      `split_clients "${seed}\${${key.variable.slice(1)}}" $${v}_split {`,
      `    ${percentText(policy.weightBp)} ${names.gray};`,
      `    * ${names.stable};`,
      '}',
      '',
      '# a request without the sticky key is never sent to gray by the split',
      `map ${key.variable} $${v}_weighted {`,
      `    "" ${names.stable};`,
      `    default $${v}_split;`,
      '}',
    ].join('\n'),
  )
  return `$${v}_weighted`
}

function tagBlocks(policy: Policy, v: string, gray: string): string {
  if (!policy.tag || policy.mode === 'plain') {
    return [`# no tag: $${v}_tag is empty, so proxy_set_header sends no tag header`, `map "" $${v}_tag {`, '    default "";', '}'].join('\n')
  }
  return [
    `# the tag for gray requests (${oneLine(policy.tag.header)}); empty for stable ones, which removes a tag a client sent`,
    `map $${v} $${v}_tag {`,
    `    ${gray} $${v}_tag_value;`,
    '    default "";',
    '}',
    '',
    // geo values are literal text, unlike map values, so a "$" in the tag stays a "$"
    `geo $${v}_tag_value {`,
    `    default ${quoted(policy.tag.value)};`,
    '}',
  ].join('\n')
}

function statusServer(policy: Policy, socket: string): string {
  const body = JSON.stringify({service: policy.service, revision: policy.revision, mode: policy.mode, weightBp: policy.weightBp})
  // "$" would start a variable in return's text; JSON lets it be written as \u0024
  // nginx fills in $pid: the worker that answers, so gray can tell old workers from new
  const text = `${body.replaceAll('$', '\\u0024').slice(0, -1)},"worker":$pid}`
  return [
    '# nginx itself answers which policy it has loaded; gray reads it after a reload (reload is asynchronous)',
    'server {',
    `    listen unix:${socket};`,
    '    access_log off;',
    `    location = ${STATUS_PATH} {`,
    '        default_type application/json;',
    `        return 200 ${singleQuoted(text)};`,
    '    }',
    '    location / {',
    '        return 404;',
    '    }',
    '}',
  ].join('\n')
}
