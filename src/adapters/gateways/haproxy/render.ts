// A Policy as HAProxy configuration: the fragment gray owns (its frontend for
// the service, the stable and gray backends) and the state map the frontend
// reads on every request. What changes during a run — revision, mode, weight,
// rules on/off, tag on/off — lives only in the map, so gray changes it through
// the Runtime API without a reload; the fragment (the "layout": binds, pools,
// rule patterns, sticky key, tag) changes only when hosts join or the rules do.
// Routing reads as decide.ts: rules first, then the sticky split
// `xxh32(seed key) mod 10000 < weight` (split.ts), no key → stable.
import {createHash} from 'node:crypto'
import {basename, dirname, join, resolve} from 'node:path'
import type {Host, Rule, StickyKey, Tag} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import {stickyText} from '../../../core/policy/document.js'
import {FULL_WEIGHT_BP, SEED_PATTERN} from '../../../core/policy/hash.js'
import type {AppliedPolicy, Policy} from '../../../core/ports.js'
import {configCidr, oneLine} from '../file-gateway.js'
import {integerRangePattern} from '../patterns.js'

/** What the fragment is built from; a change here needs a reload. */
export interface Layout {
  bind: string[]
  sticky: StickyKey
  rules: Rule[]
  tag: Tag | null
  stable: Host[]
  gray: Host[]
}

export interface Names {
  frontend: string
  entry: string
  stable: string
  gray: string
  /** prefix of the marker backend that names the loaded layout */
  layoutPrefix: string
}

const LAYOUT_LINE = '# gray-layout '
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/
/** header, cookie and query-parameter names HAProxy reads without quoting */
const PLAIN_NAME = /^[A-Za-z0-9_.-]+$/
/** paths written unquoted into the fragment */
const PLAIN_PATH = /^[A-Za-z0-9_./@:+-]+$/

export function namesFor(service: string): Names {
  const safe = service.replace(/[^A-Za-z0-9_.-]/g, '_')
  return {frontend: `gray_${safe}`, entry: `gray_${safe}`, stable: `gray_${safe}_stable`, gray: `gray_${safe}_gray`, layoutPrefix: `gray_${safe}_layout_`}
}

/** The state map: a dotfile beside the fragment, so `-f dir/` (which loads *.cfg only) never parses it. */
export function stateMapPath(fragment: string): string {
  const file = resolve(fragment)
  return join(dirname(file), `.${basename(file).replace(/\.cfg$/, '')}.gray.map`)
}

export function assertPlainPath(path: string, what: string): void {
  if (!PLAIN_PATH.test(path)) {
    throw new GatewayError(`${what} "${oneLine(path)}" has characters gray does not write into HAProxy's configuration (only letters, digits and _ . / @ : + -); choose a plainer path.`, {permanent: true})
  }
}

/** The layout a policy needs; rules and tag left out (a rollback, a plain policy) keep the previous ones, switched off in the map. */
export function layoutOf(policy: Policy, bind: string[], previous: Layout | null): Layout {
  const split = policy.mode === 'split'
  return {
    bind: [...bind],
    sticky: policy.sticky,
    rules: split && policy.rules.length > 0 ? policy.rules : (previous?.rules ?? []),
    tag: split && policy.tag ? policy.tag : (previous?.tag ?? policy.tag ?? null),
    stable: policy.stable,
    gray: policy.gray,
  }
}

export function layoutId(layout: Layout): string {
  return createHash('sha256').update(JSON.stringify(layout)).digest('hex').slice(0, 16)
}

/** The layout a fragment was written from (its first line), or null. */
export function parseLayout(fragment: string | null): Layout | null {
  if (!fragment?.startsWith(LAYOUT_LINE)) return null
  try {
    return JSON.parse(fragment.slice(LAYOUT_LINE.length, fragment.indexOf('\n'))) as Layout
  } catch {
    return null
  }
}

export interface StateEntries {
  revision: string
  mode: 'split' | 'plain'
  weight: string
  rules: '0' | '1'
  tag: '0' | '1'
  /** the run's cohort seed, while a split is in force; no entry: the key alone is hashed */
  seed?: string
}

export function stateOf(policy: Policy): StateEntries {
  if (policy.mode === 'split' && policy.gray.length === 0 && (policy.weightBp > 0 || policy.rules.length > 0)) {
    throw new GatewayError(`The policy for ${policy.service} sends traffic to gray but lists no gray hosts; list hosts.gray in gray.yaml.`, {permanent: true})
  }
  if (!/^[A-Za-z0-9_.:+-]{1,200}$/.test(policy.revision)) {
    throw new GatewayError(`Revision "${oneLine(policy.revision)}" cannot be written into HAProxy's state map (letters, digits and _ . : + - only).`, {permanent: true})
  }
  const split = policy.mode === 'split'
  return {
    revision: policy.revision,
    mode: policy.mode,
    weight: String(split ? policy.weightBp : 0),
    rules: split && policy.rules.length > 0 ? '1' : '0',
    tag: split && policy.tag ? '1' : '0',
    ...(split && policy.seed ? {seed: seedOf(policy)} : {}),
  }
}

function seedOf(policy: Policy): string {
  if (!SEED_PATTERN.test(policy.seed ?? '')) {
    throw new GatewayError(`The policy for ${policy.service} has cohort seed "${oneLine(policy.seed ?? '')}", which is not 8 hex digits.`, {permanent: true})
  }
  return policy.seed as string
}

export function renderStateMap(state: StateEntries): string {
  return `${Object.entries(state)
    .map(([key, value]) => `${key} ${value}`)
    .join('\n')}\n`
}

export function appliedOf(entries: Map<string, string>): AppliedPolicy | null {
  const revision = entries.get('revision')
  const mode = entries.get('mode')
  const weight = Number(entries.get('weight'))
  if (!revision || (mode !== 'split' && mode !== 'plain') || !Number.isInteger(weight)) return null
  return {revision, mode, weightBp: weight}
}

export function renderFragment(service: string, layout: Layout, mapPath: string): string {
  const n = namesFor(service)
  if (layout.stable.length === 0) {
    throw new GatewayError(`The policy for ${service} has no stable hosts; list hosts.stable in gray.yaml.`, {permanent: true})
  }
  const id = layoutId(layout)
  const map = mapPath
  const lines: string[] = [
    `${LAYOUT_LINE}${JSON.stringify(layout)}`,
    `# The HAProxy configuration gray owns for ${oneLine(service)}; gray rewrites it, so do not edit it.`,
    `# Revision, weight and which rules are on live in ${map} and change through the Runtime API, without a reload.`,
    '',
    `frontend ${n.frontend}`,
    '    mode http',
    ...layout.bind.map((b) => `    bind ${b}`),
    `    http-request set-var(txn.gray_w) str(weight),map(${map},0),add(0)`,
    ...keyLines(layout.sticky),
    // the run's cohort seed (in the map: no reload for a new run) comes first in what is hashed; without one, the key alone
    `    http-request set-var(txn.gray_salt) str(seed),map(${map})`,
    '    http-request set-var(txn.gray_b) str(),concat(,txn.gray_salt,),concat(,txn.gray_key,),xxh32,mod(10000) if { var(txn.gray_key) -m len gt 0 }',
    `    acl gray_split str(mode),map(${map},plain) -m str split`,
    `    acl gray_rules str(rules),map(${map},0) -m str 1`,
    `    acl gray_full var(txn.gray_w) -m int ge ${FULL_WEIGHT_BP}`,
    '    acl gray_keyed var(txn.gray_b) -m found',
    '    acl gray_hash var(txn.gray_b),sub(txn.gray_w) -m int lt 0',
  ]
  layout.rules.forEach((rule, i) => lines.push(`    # rule ${i + 1}: ${oneLine(JSON.stringify(rule))}`, `    acl gray_r${i} ${ruleAcl(rule)}`))
  if (layout.rules.length > 0) {
    lines.push(`    use_backend ${n.gray} if ${layout.rules.map((_, i) => `gray_split gray_rules gray_r${i}`).join(' || ')}`)
  }
  lines.push(
    `    # the sticky split on ${stickyText(layout.sticky)}: gray while the key's bucket is below the weight, so cohorts nest as it grows; no key, no split`,
    `    use_backend ${n.gray} if gray_split gray_full || gray_split gray_keyed gray_hash`,
    `    default_backend ${n.stable}`,
    '',
  )
  const entry = layout.bind.find((b) => /^(abns|unix)@/.test(b))
  if (entry) {
    const address = entry.split(/\s+/)[0] as string
    lines.push(
      `# point your own frontend here (use_backend ${n.entry}); the PROXY protocol keeps the client address for ip rules`,
      `backend ${n.entry}`,
      '    mode http',
      `    server gray ${address}${/\baccept-proxy\b/.test(entry) ? ' send-proxy-v2' : ''}`,
      '',
    )
  }
  lines.push(...backend(n.stable, layout.stable, layout.tag, false, map), '')
  lines.push(...backend(n.gray, layout.gray, layout.tag, true, map), '')
  lines.push(`# names the layout this process loaded; gray reads it back with \`show backend\``, `backend ${n.layoutPrefix}${id}`, '    mode http', '')
  return lines.join('\n')
}

function keyLines(sticky: StickyKey): string[] {
  switch (sticky.kind) {
    case 'ip':
      return ['    http-request set-var-fmt(txn.gray_key) "%[src]"']
    case 'cookie':
      return [`    http-request set-var(txn.gray_key) req.cook(${plainName(sticky.name, 'cookie')})`]
    case 'header':
      return [`    http-request set-var(txn.gray_key) req.fhdr(${plainName(sticky.name, 'header')})`]
    case 'query':
      return [`    http-request set-var(txn.gray_key) url_param(${plainName(sticky.name, 'query parameter')})`]
  }
}

function ruleAcl(rule: Rule): string {
  if (rule.kind === 'cidr') return `src ${rule.cidrs.map(configCidr).join(' ')}`
  const name = plainName(rule.field.name, rule.field.source === 'query' ? 'query parameter' : rule.field.source)
  const fetch = rule.field.source === 'header' ? `req.fhdr(${name})` : rule.field.source === 'cookie' ? `req.cook(${name})` : `url_param(${name})`
  switch (rule.kind) {
    case 'equals':
      return `${fetch} -m str ${quoted(rule.value)}`
    case 'in':
      return `${fetch} -m str ${rule.values.map(quoted).join(' ')}`
    case 'prefix':
      return `${fetch} -m beg ${quoted(rule.value)}`
    case 'range':
      return `${fetch} -m reg ${quoted(`^${integerRangePattern(rule.min, rule.max)}$`)}`
  }
}

function backend(name: string, hosts: Host[], tag: Tag | null, gray: boolean, map: string): string[] {
  const lines = [`backend ${name}`, '    mode http', '    balance roundrobin']
  if (tag) {
    const header = plainName(tag.header, 'header')
    // a tag a client sent never reaches a host; gray requests get gray's own while the map says so
    lines.push(`    http-request del-header ${header}`)
    if (gray) lines.push(`    http-request set-header ${header} ${quoted(tag.value.replaceAll('%', '%%'))} if { str(tag),map(${map},0) -m str 1 }`)
  }
  hosts.forEach((host, i) => {
    if (!ADDRESS.test(host.address)) {
      throw new GatewayError(`Host ${oneLine(host.name)} has address "${oneLine(host.address)}", which is not host:port; fix it in gray.yaml.`, {permanent: true})
    }
    lines.push(`    server h${i}_${host.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)} ${host.address}`)
  })
  return lines
}

/** A double-quoted HAProxy word: \, " and $ (environment variables) escaped. */
export function quoted(text: string): string {
  if (/[\r\n\0]/.test(text)) throw new GatewayError(`A rule value has a line break or NUL, which HAProxy cannot match; fix it in gray.yaml.`, {permanent: true})
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('$', '\\$')}"`
}

function plainName(name: string, what: string): string {
  if (!PLAIN_NAME.test(name)) {
    throw new GatewayError(`gray writes ${what} names for HAProxy only with letters, digits and _ . -, got "${oneLine(name)}"; rename it in gray.yaml.`, {permanent: true})
  }
  return name
}
