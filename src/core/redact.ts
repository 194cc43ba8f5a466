// The one door every byte gray writes passes: secrets masked, terminal controls escaped.
//
// What is a secret (docs/secrets.md):
//  - the value of every credential-bearing field of gray.yaml (gateway.token,
//    gateway.key, metrics.*.token, notify[].webhook, traffic.tag.value, the
//    user and password of any URL), whatever wrote it there;
//  - the value of every ${VAR} in an argv (deploy.command, hooks, metric
//    commands, gateway test/reload) or an ssh field, whatever its name;
//  - the value of any environment variable whose NAME looks like a secret
//    (…TOKEN, …PASSWORD, …) — a second net for values gray never saw in gray.yaml.
// Masking covers the raw value and the forms gray or a peer may have encoded
// it in: JSON-escaped, URL-encoded (both %20 and +), base64.
// Secrets of 1–3 characters cannot be masked without hiding every such
// substring of unrelated text, so `validate` refuses them (MIN_SECRET_LENGTH).

/** the shortest secret gray accepts in gray.yaml; shorter ones are refused at validate */
export const MIN_SECRET_LENGTH = 4
/** the heuristic by environment variable name only trusts values this long */
const NAME_HEURISTIC_MIN = 6
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|WEBHOOK)/i
export const MASK = '***'

const registered = new Set<string>()

/** Makes `values` secrets for the rest of this process (config loading calls it). */
export function registerSecrets(values: Iterable<string>): void {
  for (const value of values) if (value.length >= MIN_SECRET_LENGTH) registered.add(value)
  cache = null
}

/** Forgets registered secrets (tests). */
export function clearRegisteredSecrets(): void {
  registered.clear()
  cache = null
}

let cache: {key: string; forms: string[]} | null = null

/** Every secret gray knows of, longest first. */
export function secretValues(env: Record<string, string | undefined> = process.env): string[] {
  const named = Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= NAME_HEURISTIC_MIN)
    .map(([, value]) => value as string)
  return [...new Set([...named, ...registered])].sort((a, b) => b.length - a.length)
}

/** The forms a secret may appear in: raw, JSON-escaped, URL-encoded, base64. */
export function secretForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1)
  const url = encodeURIComponent(secret)
  const form = url.replace(/%20/g, '+')
  const base64 = Buffer.from(secret, 'utf8').toString('base64')
  const base64NoPad = base64.replace(/=+$/, '')
  const forms = [secret, json, url, form, base64, base64NoPad, JSON.stringify(json).slice(1, -1)]
  return [...new Set(forms.filter((f) => f.length >= MIN_SECRET_LENGTH))]
}

function formsOf(secrets: readonly string[]): string[] {
  const key = secrets.join('\u0000')
  if (cache?.key === key) return cache.forms
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length)
  cache = {key, forms}
  return forms
}

/** `text` with every form of every secret replaced by ***. */
export function redact(text: string, secrets: readonly string[] = secretValues()): string {
  if (secrets.length === 0 || text.length < MIN_SECRET_LENGTH) return text
  let out = text
  for (const form of formsOf(secrets)) if (out.includes(form)) out = out.split(form).join(MASK)
  return out
}

/** Every string inside `value` (objects, arrays) redacted and made safe to print; keys are kept. */
export function cleanDeep<T>(value: T, secrets: readonly string[] = secretValues()): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return escapeControls(redact(v, secrets))
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, item] of Object.entries(v)) out[k] = walk(item)
      return out
    }
    return v
  }
  return walk(value) as T
}

// ── terminal and page safety ────────────────────────────────────────────────

/**
 * C0 controls but tab and line feed, DEL, C1 controls, and the Unicode bidi
 * controls (U+200E/F, U+202A–U+202E, U+2066–U+2069): a terminal acts on them
 * (colours, cursor moves, OSC 8 links, OSC 52 clipboard writes, text shown in
 * another order than stored), so text from peers, hosts, config values or the
 * inbox shows them as visible escapes like \x1B or \u202E instead.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HAS_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/

function visible(ch: string): string {
  const code = ch.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
}

/** `text` with every control character shown as a visible escape; line feeds and tabs stay. */
export function escapeControls(text: string): string {
  return HAS_CONTROL.test(text) ? text.replace(CONTROLS, visible) : text
}

/** Whether `text` holds a control or bidi character (for validation). */
export function hasControls(text: string): boolean {
  return HAS_CONTROL.test(text)
}

/** Bidi controls only: host names and labels must not hold them. */
export const BIDI = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/

/** Text fit for a terminal or a page: secrets masked, controls escaped. */
export function shown(text: string, secrets: readonly string[] = secretValues()): string {
  return escapeControls(redact(text, secrets))
}

/**
 * The last line of defence on stdout and stderr, where gray's own colours and
 * cursor moves must pass: CSI sequences gray draws with (SGR colours, cursor
 * moves, erase line/screen, cursor show/hide) pass; every other escape (OSC,
 * DCS, lone ESC), C1 and bidi control is shown escaped.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const OUTPUT_UNSAFE = /\x1b\[[0-9;?]*[ABCDGHJKmhlsu]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g

export function safeOutput(text: string, secrets: readonly string[] = secretValues()): string {
  const masked = redact(text, secrets)
  // \uXXXX, not \xXX: this text may be a --json document, where \uXXXX is a valid escape and \x is not
  return masked.replace(OUTPUT_UNSAFE, (match) => (match.length > 1 ? match : `\\u${match.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`))
}

let masking = false

/** Every byte gray prints passes through safeOutput(): secrets masked, foreign escapes neutralised. */
export function maskSecretsInOutput(): void {
  if (masking) return
  masking = true
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? safeOutput(chunk) : Buffer.isBuffer(chunk) ? safeOutput(chunk.toString('utf8')) : chunk, ...rest)) as typeof stream.write
  }
}
