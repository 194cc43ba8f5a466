// The versioned JSON form of a Policy: what the sandbox control plane (and the
// `http` gateway) accepts and serves. Rules and sticky keys read as in gray.yaml.
import ipaddr from 'ipaddr.js'
import {z} from 'zod'
import type {Host, Rule, StickyKey} from '../config/model.js'
import {GrayError} from '../errors.js'
import type {Policy} from '../ports.js'
import {SEED_PATTERN} from './hash.js'

export const API_VERSION = 'gray.dev/v1'
export const KIND = 'GrayPolicy'

export type FieldSource = 'header' | 'cookie' | 'query'

export type RuleDocument =
  | ({[S in FieldSource]?: string} & {equals?: string; in?: string[]; prefix?: string; range?: [number, number]})
  | {ip: string[]}

export interface PolicyDocument {
  apiVersion: typeof API_VERSION
  kind: typeof KIND
  service: string
  revision: string
  mode: 'split' | 'plain'
  weightBasisPoints: number
  /** cookie:NAME | header:NAME | query:NAME | ip */
  sticky: string
  /** the run's cohort seed (8 hex digits) salting the split's hash; absent: the key alone */
  seed?: string
  rules: RuleDocument[]
  tag: {header: string; value: string} | null
  upstreams: {stable: Host[]; gray: Host[]}
}

/** A policy document that cannot be applied; `field` is where it is wrong (e.g. `rules[1].range`). */
export class PolicyDocumentError extends GrayError {
  readonly field: string
  constructor(field: string, problem: string) {
    super(field ? `The policy document is invalid at ${field}: ${problem}.` : `The policy document is invalid: ${problem}.`)
    this.name = 'PolicyDocumentError'
    this.field = field
  }
}

const SOURCES: readonly FieldSource[] = ['header', 'cookie', 'query']
const OPERATORS = ['equals', 'in', 'prefix', 'range'] as const
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/

const nonEmpty = z.string().min(1, 'must not be empty')
const host = z.object({name: nonEmpty, address: z.string().regex(ADDRESS, 'must be host:port')}).strict()
const cidr = z.string().refine((text) => isCidr(text), 'must be an IPv4 or IPv6 CIDR such as 10.0.0.0/8')

const fieldRule = z
  .object({
    header: z.string().regex(HEADER_NAME, 'must be a header name').optional(),
    cookie: nonEmpty.optional(),
    query: nonEmpty.optional(),
    equals: z.string().optional(),
    in: z.array(z.string()).min(1, 'must list at least one value').optional(),
    prefix: nonEmpty.optional(),
    range: z
      .tuple([z.number().int(), z.number().int()])
      .refine(([min, max]) => min <= max, 'must be [min, max] with min <= max')
      .optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const sources = SOURCES.filter((key) => rule[key] !== undefined)
    const operators = OPERATORS.filter((key) => rule[key] !== undefined)
    if (sources.length !== 1) ctx.addIssue({code: 'custom', message: 'must name exactly one of header, cookie, query or ip'})
    if (operators.length !== 1) ctx.addIssue({code: 'custom', message: 'must have exactly one of equals, in, prefix, range'})
  })

const ipRule = z.object({ip: z.array(cidr).min(1, 'must list at least one CIDR')}).strict()

const rule = z.unknown().superRefine((value, ctx) => {
  const schema = typeof value === 'object' && value !== null && 'ip' in value ? ipRule : fieldRule
  const result = schema.safeParse(value)
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({code: 'custom', message: issue.message, path: issue.path})
})

const documentSchema = z
  .object({
    apiVersion: z.literal(API_VERSION, `must be "${API_VERSION}"`),
    kind: z.literal(KIND, `must be "${KIND}"`),
    service: nonEmpty,
    revision: nonEmpty,
    mode: z.enum(['split', 'plain'], 'must be "split" or "plain"'),
    weightBasisPoints: z.number().int('must be a whole number').min(0, 'must be 0..10000').max(10_000, 'must be 0..10000'),
    sticky: z.string().regex(/^(?:(?:cookie|header|query):.+|ip)$/, 'must be cookie:NAME, header:NAME, query:NAME or ip'),
    seed: z.string().regex(SEED_PATTERN, 'must be 8 lowercase hex digits').optional(),
    rules: z.array(rule),
    tag: z.object({header: z.string().regex(HEADER_NAME, 'must be a header name'), value: z.string()}).strict().nullable(),
    upstreams: z
      .object({stable: z.array(host), gray: z.array(host)})
      .strict(),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const routesToGray = doc.mode === 'split' && (doc.weightBasisPoints > 0 || doc.rules.length > 0)
    // at 100% with no split left, stable takes nothing and may be empty (the last hosts are being converted)
    const routesToStable = doc.mode === 'plain' || doc.weightBasisPoints < 10_000
    if (routesToStable && doc.upstreams.stable.length === 0) {
      ctx.addIssue({code: 'custom', path: ['upstreams', 'stable'], message: 'must list at least one host while the policy can send traffic to stable'})
    }
    if (routesToGray && doc.upstreams.gray.length === 0) {
      ctx.addIssue({code: 'custom', path: ['upstreams', 'gray'], message: 'must list at least one host when the split can send traffic to gray'})
    }
  })

function isCidr(text: string): boolean {
  const [address] = text.split('/')
  if (address === undefined || !text.includes('/')) return false
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return ipaddr.IPv4.isValidCIDRFourPartDecimal(text)
  return ipaddr.IPv6.isValidCIDR(text)
}

export function toDocument(policy: Policy): PolicyDocument {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    service: policy.service,
    revision: policy.revision,
    mode: policy.mode,
    weightBasisPoints: policy.weightBp,
    sticky: stickyText(policy.sticky),
    ...(policy.seed ? {seed: policy.seed} : {}),
    rules: policy.rules.map(ruleToDocument),
    tag: policy.tag ? {header: policy.tag.header, value: policy.tag.value} : null,
    upstreams: {stable: policy.stable.map(copyHost), gray: policy.gray.map(copyHost)},
  }
}

/** Validates a parsed JSON document; throws PolicyDocumentError naming the first wrong field. */
export function fromDocument(value: unknown): Policy {
  const result = documentSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new PolicyDocumentError(pathText(issue?.path ?? []), lowerFirst(issue?.message ?? 'not a policy document'))
  }
  const doc = result.data
  const policy: Policy = {
    service: doc.service,
    revision: doc.revision,
    mode: doc.mode,
    weightBp: doc.weightBasisPoints,
    sticky: parseSticky(doc.sticky),
    ...(doc.seed ? {seed: doc.seed} : {}),
    rules: doc.rules.map((r) => ruleFromDocument(r as RuleDocument)),
    stable: doc.upstreams.stable.map(copyHost),
    gray: doc.upstreams.gray.map(copyHost),
  }
  if (doc.tag) policy.tag = {header: doc.tag.header, value: doc.tag.value}
  return policy
}

export function stickyText(sticky: StickyKey): string {
  return sticky.kind === 'ip' ? 'ip' : `${sticky.kind}:${sticky.name}`
}

export function parseSticky(text: string): StickyKey {
  if (text === 'ip') return {kind: 'ip'}
  const colon = text.indexOf(':')
  const kind = text.slice(0, colon)
  const name = text.slice(colon + 1)
  if (colon < 0 || !name || !(SOURCES as readonly string[]).includes(kind)) {
    throw new PolicyDocumentError('sticky', 'must be cookie:NAME, header:NAME, query:NAME or ip')
  }
  return {kind: kind as FieldSource, name}
}

export function ruleToDocument(rule: Rule): RuleDocument {
  if (rule.kind === 'cidr') return {ip: [...rule.cidrs]}
  const field = {[rule.field.source]: rule.field.name}
  switch (rule.kind) {
    case 'equals':
      return {...field, equals: rule.value}
    case 'in':
      return {...field, in: [...rule.values]}
    case 'prefix':
      return {...field, prefix: rule.value}
    case 'range':
      return {...field, range: [rule.min, rule.max]}
  }
}

/** Assumes a rule the schema accepted. */
function ruleFromDocument(doc: RuleDocument): Rule {
  if ('ip' in doc) return {kind: 'cidr', cidrs: [...doc.ip]}
  const source = SOURCES.find((key) => doc[key] !== undefined) as FieldSource
  const field = {source, name: doc[source] as string}
  if (doc.equals !== undefined) return {kind: 'equals', field, value: doc.equals}
  if (doc.in !== undefined) return {kind: 'in', field, values: [...doc.in]}
  if (doc.prefix !== undefined) return {kind: 'prefix', field, value: doc.prefix}
  const [min, max] = doc.range as [number, number]
  return {kind: 'range', field, min, max}
}

function copyHost(host: Host): Host {
  return {name: host.name, address: host.address}
}

function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '')
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}
