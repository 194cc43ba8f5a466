// The gray.dev/v1 policy document as JSON Schema, for control planes that
// receive it from the http gateway. schema/policy.schema.json is this, written
// out. It states the same shape as core/policy/document.ts (whose zod schema is
// not exported and checks rules in code); a test holds the two together.
import {z} from 'zod'
import {API_VERSION, KIND} from '../../../core/policy/document.js'

export const POLICY_SCHEMA_ID = 'https://github.com/gray-cli/gray/schema/policy.schema.json'

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const nonEmpty = z.string().min(1)
const IPV4_CIDR = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(?:3[0-2]|[12]?\d)$/
const IPV6_CIDR = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\/(?:12[0-8]|1[01]\d|[1-9]?\d)$/

const sources = {
  header: z.string().regex(HEADER_NAME).describe('request header name (case-insensitive)'),
  cookie: nonEmpty.describe('cookie name'),
  query: nonEmpty.describe('query parameter name'),
}
const operators = {
  equals: z.string().describe('the value equals this text'),
  in: z.array(z.string()).min(1).describe('the value is one of these'),
  prefix: nonEmpty.describe('the value starts with this text'),
  range: z.tuple([z.number().int(), z.number().int()]).describe('the value is a whole number in [min, max] (min <= max)'),
}

const fieldRules = Object.entries(sources).flatMap(([source, name]) =>
  Object.entries(operators).map(([operator, value]) => z.object({[source]: name, [operator]: value}).strict()),
)
const ipRule = z
  .object({ip: z.array(z.string().regex(new RegExp(`${IPV4_CIDR.source}|${IPV6_CIDR.source}`))).min(1).describe('client address ranges (CIDR)')})
  .strict()

const host = z.object({name: nonEmpty, address: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/).describe('host:port')}).strict()

export const policyDocumentShape = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    service: nonEmpty,
    revision: nonEmpty.describe('changes whenever the policy changes; the control plane serves it back on GET'),
    mode: z.enum(['split', 'plain']).describe('plain: every request to upstreams.stable, no split, no rules, no tag'),
    weightBasisPoints: z.number().int().min(0).max(10_000).describe('share of gray in basis points: 125 is 1.25%'),
    sticky: z
      .string()
      .regex(/^(?:(?:cookie|header|query):.+|ip)$/)
      .describe('the key the split hashes (nginx split_clients murmurhash2): cookie:NAME, header:NAME, query:NAME or ip'),
    seed: z
      .string()
      .regex(/^[0-9a-f]{8}$/)
      .optional()
      .describe("the run's cohort seed: the split hashes the seed followed by the key's value; absent, the key alone"),
    rules: z.array(z.union([...fieldRules, ipRule])).describe('a request matching any rule goes to gray at any weight while mode is split'),
    tag: z.object({header: z.string().regex(HEADER_NAME), value: z.string()}).strict().nullable().describe('header set on gray requests only'),
    upstreams: z.object({stable: z.array(host).min(1), gray: z.array(host).describe('may be empty only when nothing can reach gray')}).strict(),
  })
  .strict()

export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policyDocumentShape, {target: 'draft-2020-12'})
  return {
    ...schema,
    $id: POLICY_SCHEMA_ID,
    title: 'gray policy document (gray.dev/v1)',
    description: 'What the http gateway PUTs to gateway.url and expects back on GET; see docs/policy-document.md',
  }
}
