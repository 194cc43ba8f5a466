// The decision itself, shared by the library export (./index.ts) and
// `gray cohort serve`: a request's attributes as the gateway reads them, the
// rules and the gateway's hash (src/core/policy/), and the tag to send.
import {decide, parseCookies, parseQuery, type RequestView} from '../core/policy/decide.js'
import {SPLIT_CLIENTS, splitFor, type Split} from '../core/policy/split.js'
import type {Policy} from '../core/ports.js'

/**
 * The gateway whose split to reproduce. `nginx` (the default), `http` and `sandbox` hash as
 * nginx's split_clients (MurmurHash2), `haproxy` as `xxh32,mod(10000)`, `bfe` as
 * `murmur3.Sum64 % 10000`. APISIX and ShenYu pick an upstream per request, so no library can say
 * which cohort a user is in; they are refused.
 */
export type CohortGateway = 'nginx' | 'http' | 'sandbox' | 'haproxy' | 'bfe'

// `config`: a run of kind config, whose readers decide with this library's default split
const STICKY_GATEWAYS: ReadonlySet<string> = new Set<string>(['nginx', 'http', 'sandbox', 'haproxy', 'bfe', 'config'])

/** The gateway's hash; a TypeError for a gateway whose split no one can predict. */
export function cohortSplit(gateway: string | undefined): Split {
  if (gateway === undefined) return SPLIT_CLIENTS
  if (!STICKY_GATEWAYS.has(gateway)) {
    const perRequest = gateway === 'apisix' || gateway === 'shenyu'
    throw new TypeError(
      perRequest
        ? `gateway "${gateway}" picks an upstream per request by weight, so which cohort a user is in cannot be known; use a gateway with a sticky split (nginx, haproxy, bfe, http, sandbox)`
        : `gateway "${gateway}": must be one of nginx, http, sandbox, haproxy, bfe`,
    )
  }
  return splitFor(gateway as CohortGateway)
}

/** A request's or a message's attributes, as the gateway would read them. */
export interface CohortAttributes {
  /**
   * The sticky key's value (the user or device id) for a caller that holds it apart from headers,
   * cookies and query: it is put where the policy's `sticky` reads it (e.g. the `uid` cookie for
   * `cookie:uid`), over any value given there. A policy with `sticky: ip` hashes the client
   * address; pass `ip` instead.
   */
  uid?: string
  /**
   * HTTP headers, or a long-connection message's head fields. Names compare case-insensitively;
   * a list of values is joined with ", " as nginx's `$http_NAME` does.
   */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>
  /** name → value, or a `Cookie` header's text; default: parsed from `headers.cookie`. The first of a repeated name counts. */
  cookies?: Readonly<Record<string, string>> | string
  /** name → raw (not percent-decoded) value, or the query string (`a=1&b=2`, with or without `?`). The first of a repeated name counts. */
  query?: Readonly<Record<string, string>> | string
  /** the client address as the gateway sees it (`$remote_addr`); IPv4-mapped IPv6 counts as IPv4 */
  ip?: string
}

export interface CohortDecision {
  cohort: 'gray' | 'stable'
  /**
   * The header and value to send with a gray request, or null. On the way to stable the gateway
   * removes this header if a client sent it; do the same.
   */
  tag: {header: string; value: string} | null
  service: string
  /** the policy document's revision, to tell which policy decided */
  revision: string
  /**
   * What decided: `plain` (no split: every request to stable), `rule` (the rule at `rule`
   * matches), `no-key` (no sticky key below 100%: never gray by the split), `weight` (the
   * key's `bucket` against the weight).
   */
  why: 'plain' | 'rule' | 'no-key' | 'weight'
  /** index into the document's `rules` when `why` is `rule` */
  rule: number | null
  /** the key's bucket on the gateway's 0..9999 scale (gray exactly while the weight is above it) when `why` is `weight` */
  bucket: number | null
}

export function decisionOf(policy: Policy, split: Split, attributes: CohortAttributes): CohortDecision {
  const d = decide(policy, viewOf(policy, attributes), split)
  const gray = d.target === 'gray'
  return {
    cohort: d.target,
    tag: gray && policy.tag ? {header: policy.tag.header, value: policy.tag.value} : null,
    service: policy.service,
    revision: policy.revision,
    why: d.reason.kind,
    rule: d.reason.kind === 'rule' ? d.reason.index : null,
    bucket: d.reason.kind === 'weight' ? d.reason.bucket : null,
  }
}

function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

function copyRecord(from: Readonly<Record<string, string>>): Record<string, string> {
  const to = record<string>()
  for (const [name, value] of Object.entries(from)) if (typeof value === 'string') to[name] = value
  return to
}

function viewOf(policy: Policy, attributes: CohortAttributes): RequestView {
  const headers = record<string | undefined>()
  for (const [name, value] of Object.entries(attributes.headers ?? {})) {
    const text = typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : undefined
    const lower = name.toLowerCase()
    if (text !== undefined && !Object.hasOwn(headers, lower)) headers[lower] = text
  }
  const {cookies, query} = attributes
  const view: RequestView = {
    headers,
    cookies: typeof cookies === 'string' ? parseCookies(cookies) : cookies ? copyRecord(cookies) : parseCookies(headers['cookie']),
    query: typeof query === 'string' ? parseQuery(query) : query ? copyRecord(query) : record<string>(),
    ip: attributes.ip ?? '',
  }
  if (attributes.uid !== undefined) {
    const sticky = policy.sticky
    if (sticky.kind === 'ip') throw new TypeError('uid: this policy splits on the client address (sticky: ip); pass ip instead')
    if (sticky.kind === 'header') view.headers[sticky.name.toLowerCase()] = attributes.uid
    else if (sticky.kind === 'cookie') view.cookies[sticky.name] = attributes.uid
    else view.query[sticky.name] = attributes.uid
  }
  return view
}
