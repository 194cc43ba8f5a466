// The small value types of gray.yaml: durations, addresses, CIDRs, argv, names.
import ipaddr from 'ipaddr.js'
import ms from 'ms'
import {z} from 'zod'

/** Lists the keys an object knows in its unknown-key issue, for "did you mean". */
export const KNOWN_KEYS = 'known-keys:'

/** A strict object: unknown keys are errors that name the known ones. */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T, what = 'a mapping') {
  const known = Object.keys(shape)
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `${KNOWN_KEYS}${known.join(',')}`
      if (issue.code === 'invalid_type') return `must be ${what}`
      return undefined
    },
  })
}

const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/

/** milliseconds in a duration like 500ms, 30s, 5m, 1h, 1d; undefined when it is not one */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined
  const value = ms(text as ms.StringValue)
  return Number.isFinite(value) ? value : undefined
}

/**
 * The longest duration gray.yaml may hold: a week. Every duration ends up in
 * a timer, and Node's timers overflow past 2^31-1 ms (24.8 days) into a 1 ms
 * spin; no bake, interval, window or timeout of a release needs more.
 */
export const MAX_DURATION_MS = 7 * 24 * 60 * 60_000

/** A duration written with its unit, in milliseconds. */
export function duration(options: {zero?: boolean} = {}) {
  const expected = options.zero
    ? 'must be a duration with a unit like 500ms, 30s, 5m or 1h'
    : 'must be a duration above zero with a unit like 500ms, 30s, 5m or 1h'
  return z
    .string({error: expected})
    .regex(DURATION, {error: expected, abort: true})
    .refine((text) => options.zero === true || (parseDuration(text) ?? 0) > 0, {error: expected, abort: true})
    .refine((text) => (parseDuration(text) ?? Infinity) <= MAX_DURATION_MS, {error: 'must be a duration of at most 7d (a week)'})
    .transform((text) => parseDuration(text) as number)
}

export function wholeNumber(min: number, what = `a whole number of at least ${min}`) {
  return z
    .number({error: `must be ${what}`})
    .int({error: `must be ${what}`})
    .min(min, {error: `must be ${what}`})
}

/** controls but line feed and tab (multi-line queries), and bidi controls: refused in every text of gray.yaml */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TEXT_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/

export function text(what = 'a non-empty string') {
  return z
    .string({error: `must be ${what}`})
    .min(1, {error: `must be ${what}`})
    .refine((value) => !TEXT_CONTROL.test(value), {error: `must be ${what} without control characters (escapes, NUL, bidi overrides)`})
}

/** a string of gray.yaml that is not a name: no control characters but line feed and tab */
export function plainString(what: string) {
  return z.string({error: `must be ${what}`}).refine((value) => !TEXT_CONTROL.test(value), {error: `must be ${what} without control characters (escapes, NUL, bidi overrides)`})
}

/**
 * C0 and C1 control characters, and the bidi controls (U+200E/F, U+202A–U+202E,
 * U+2066–U+2069): a name holding one could rewrite the terminal it is printed
 * on, or show another name than the one it is (a host "web-1\u202E" read backwards)
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL = /^[^\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]+$/

/** a name people read in status and logs: non-empty, no control characters */
export function label(what: string) {
  return z.string({error: `must be ${what}`}).min(1, {error: `must be ${what}`}).regex(NO_CONTROL, {error: `must be ${what} without control characters (line breaks, tabs, escapes, bidi overrides)`})
}

/** an HTTP field value (RFC 9110 §5.5) gray sets on requests: no line breaks, so it can never start another header */
const FIELD_VALUE = /^[\x21-\x7E\x80-\xFF]([\x20-\x7E\x80-\xFF\t]*[\x21-\x7E\x80-\xFF])?$/

export function fieldValue() {
  return z
    .string({error: 'must be a header value'})
    .regex(FIELD_VALUE, {error: 'must be a header value: visible characters with spaces only inside, no line breaks or control characters'})
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/

/** host:port with a port 1..65535; IPv6 hosts in brackets */
export function isHostPort(value: string): boolean {
  const match = HOST_PORT.exec(value)
  if (!match) return false
  const host = match[1] as string
  const port = Number(match[3])
  if (port < 1 || port > 65535) return false
  if (host.startsWith('[')) return ipaddr.IPv6.isValid(host.slice(1, -1))
  if (/^[\d.]+$/.test(host)) return ipaddr.IPv4.isValidFourPartDecimal(host)
  return true
}

export function hostPort(what = 'an address host:port, like 10.0.0.21:8080') {
  return z.string({error: `must be ${what}`}).refine(isHostPort, {error: `must be ${what}`})
}

/** an IPv4 or IPv6 network written as address/length */
export function isCidr(value: string): boolean {
  try {
    const [address] = ipaddr.parseCIDR(value)
    return address.kind() === 'ipv6' || ipaddr.IPv4.isValidCIDRFourPartDecimal(value)
  } catch {
    return false
  }
}

export function httpUrl(what = 'an http(s) URL') {
  return z.string({error: `must be ${what}`}).refine(isHttpUrl, {error: `must be ${what}`})
}

function isHttpUrl(value: string): boolean {
  // placeholders such as {host.address} are filled later, so check a stand-in
  const sample = value.replace(/\{[A-Za-z][A-Za-z0-9_.]*\}/g, 'x')
  try {
    const url = new URL(sample)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

const ARGV_EXPECTED = 'must be an argv list like [ssh, "{host.name}", "deploy {version}"]'

/** A command as argv; a single string is refused because gray never runs a shell. */
export function argv() {
  return z
    .array(
      z
        .string({error: 'must be a string (quote numbers)'})
        .min(1, {error: 'must be a non-empty string'})
        // no program can take a NUL byte in an argument: refused here, not when the run has begun
        .refine((arg) => !arg.includes('\u0000'), {error: 'must not hold a NUL byte (no program can receive one in an argument)'}),
      {
      error: (issue) =>
        typeof issue.input === 'string'
          ? `${ARGV_EXPECTED}; gray never runs a shell, so write the command as an argv array`
          : ARGV_EXPECTED,
    })
    .min(1, {error: `${ARGV_EXPECTED} with at least the program`})
}

/** header, cookie and query names end up in gateway configs, so only plain token characters */
export const FIELD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

export function fieldName() {
  return z
    .string({error: 'must be a name of letters, digits, _ . -'})
    .regex(FIELD_NAME, {error: 'must be a name of letters, digits, _ . -'})
}
