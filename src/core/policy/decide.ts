// Which cohort one request goes to under a policy. The sandbox gateway routes
// with this; the other gateways express the same semantics in their own words.
import type {IncomingMessage} from 'node:http'
import ipaddr from 'ipaddr.js'
import type {Field, Rule, StickyKey} from '../config/model.js'
import type {Cohort, Policy} from '../ports.js'
import {bucketOf, FULL_WEIGHT_BP, grayThreshold, inGray, seeded} from './hash.js'
import type {Split} from './split.js'

export interface RequestView {
  /** header names lower-cased */
  headers: Record<string, string | undefined>
  cookies: Record<string, string>
  query: Record<string, string>
  /** client address as the socket reports it */
  ip: string
}

export type DecisionReason =
  | {kind: 'plain'}
  | {kind: 'rule'; index: number; rule: Rule}
  | {kind: 'no-key'; sticky: StickyKey}
  | {kind: 'weight'; key: string; bucket: number; weightBp: number; threshold: number; inGray: boolean}

export interface Decision {
  target: Cohort
  reason: DecisionReason
}

/** `split`: the gateway's hash (split.ts); nginx's split_clients unless given. */
export function decide(policy: Policy, req: RequestView, split?: Split): Decision {
  if (policy.mode === 'plain') return {target: 'stable', reason: {kind: 'plain'}}
  const index = policy.rules.findIndex((rule) => ruleMatches(rule, req))
  if (index >= 0) return {target: 'gray', reason: {kind: 'rule', index, rule: policy.rules[index] as Rule}}
  const key = stickyKeyOf(policy.sticky, req)
  // at 100% everything goes to gray; below, a request without its key is never sent to gray by the split
  if (!key && policy.weightBp < FULL_WEIGHT_BP) return {target: 'stable', reason: {kind: 'no-key', sticky: policy.sticky}}
  // the run's cohort seed salts the hash (split.ts); none: the key alone
  const seed = policy.seed
  const gray = policy.weightBp >= FULL_WEIGHT_BP || (split ? split.inGray(key ?? '', policy.weightBp, seed) : inGray(seeded(key ?? '', seed), policy.weightBp))
  const bucket = split ? split.bucketOf(key ?? '', seed) : bucketOf(seeded(key ?? '', seed))
  return {
    target: gray ? 'gray' : 'stable',
    reason: {kind: 'weight', key: key ?? '', bucket, weightBp: policy.weightBp, threshold: grayThreshold(policy.weightBp), inGray: gray},
  }
}

export function ruleMatches(rule: Rule, req: RequestView): boolean {
  if (rule.kind === 'cidr') return ipInAny(req.ip, rule.cidrs)
  const value = fieldValue(rule.field, req)
  if (value === undefined) return false
  switch (rule.kind) {
    case 'equals':
      return value === rule.value
    case 'in':
      return rule.values.includes(value)
    case 'prefix':
      return value.startsWith(rule.value)
    case 'range': {
      const n = integerOf(value)
      return n !== undefined && n >= rule.min && n <= rule.max
    }
  }
}

export function fieldValue(field: Field, req: RequestView): string | undefined {
  switch (field.source) {
    case 'header':
      return own(req.headers, field.name.toLowerCase())
    case 'cookie':
      return own(req.cookies, field.name)
    case 'query':
      return own(req.query, field.name)
  }
}

function own(record: Record<string, string | undefined>, name: string): string | undefined {
  const value = Object.hasOwn(record, name) ? record[name] : undefined
  return typeof value === 'string' ? value : undefined
}

function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

/** The text the split hashes, as nginx's $cookie_/$http_/$arg_/$remote_addr give it. */
export function stickyKeyOf(sticky: StickyKey, req: RequestView): string | undefined {
  if (sticky.kind === 'ip') return canonicalIp(req.ip)
  return fieldValue({source: sticky.kind, name: sticky.name}, req)
}

function integerOf(text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}

type ParsedCidr = [ipaddr.IPv4 | ipaddr.IPv6, number]
const parsedCidrs = new Map<string, ParsedCidr | null>()

function cidrOf(text: string): ParsedCidr | null {
  let parsed = parsedCidrs.get(text)
  if (parsed === undefined) {
    parsed = parseCidr(text)
    if (parsedCidrs.size > 10_000) parsedCidrs.clear()
    parsedCidrs.set(text, parsed)
  }
  return parsed
}

function parseCidr(text: string): ParsedCidr | null {
  try {
    const [address, bits] = ipaddr.parseCIDR(text.trim())
    // an IPv4-mapped IPv6 range is the IPv4 range it maps
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96]
    }
    return [address, bits]
  } catch {
    return null
  }
}

export function ipInAny(ip: string, cidrs: readonly string[]): boolean {
  const client = parseIp(ip)
  if (!client) return false
  return cidrs.some((text) => {
    const cidr = cidrOf(text)
    return cidr !== null && cidr[0].kind() === client.kind() && client.match(cidr)
  })
}

function parseIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  // what cannot be an address is answered without ipaddr's throw (tens of µs; the cohort endpoint meets it on every request without an ip)
  if (!/^[0-9A-Fa-fxX:.]+(?:%[^\s%]+)?$/.test(ip.trim())) return undefined
  try {
    // process() turns ::ffff:a.b.c.d into a.b.c.d
    return ipaddr.process(ip.trim())
  } catch {
    return undefined
  }
}

/** A client address as nginx's $remote_addr writes it: mapped IPv4 as plain IPv4. */
export function canonicalIp(ip: string): string {
  const parsed = parseIp(ip)
  if (!parsed) return ip
  return parsed.kind() === 'ipv4' ? parsed.toString() : ip
}

/** Cookie header → name/value; the first of a repeated name wins, values stay raw as in nginx. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies = emptyRecord<string>()
  if (!header) return cookies
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    const name = pair.slice(0, eq).trim()
    if (!name || Object.hasOwn(cookies, name)) continue
    cookies[name] = pair.slice(eq + 1).trim()
  }
  return cookies
}

/** Query string → name/value; the first of a repeated name wins, values stay raw as in nginx. */
export function parseQuery(search: string): Record<string, string> {
  const query = emptyRecord<string>()
  const text = search.startsWith('?') ? search.slice(1) : search
  if (!text) return query
  for (const pair of text.split('&')) {
    if (!pair) continue
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    if (!name || Object.hasOwn(query, name)) continue
    query[name] = eq < 0 ? '' : pair.slice(eq + 1)
  }
  return query
}

export function requestViewOf(req: IncomingMessage): RequestView {
  const headers = emptyRecord<string | undefined>()
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return {
    headers,
    cookies: parseCookies(headers['cookie']),
    query: q < 0 ? emptyRecord<string>() : parseQuery(url.slice(q)),
    ip: req.socket.remoteAddress ?? '',
  }
}
