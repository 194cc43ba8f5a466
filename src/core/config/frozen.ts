// A run's frozen config: the effective config it started with (defaults applied,
// normalised as the engine reads it), kept in its journal in gray.yaml's own
// syntax — every `${VAR}` stays the reference, never its value — so any machine
// drives exactly what was started by resolving it against its own environment.
// Pure but for the hash: the loader remembers each config's form here, the
// services (src/services/run-config.ts) decide what a run drives with.
import {createHash} from 'node:crypto'

import {ConfigError} from '../errors.js'
import {redact, registerSecrets, secretValues} from '../redact.js'
import {fillEnv} from './env.js'
import type {GrayConfig} from './model.js'
import {EnvFilled, formatPath, InvalidConfigError, problem, valueAt, type ConfigPath} from './problems.js'
import {configSecrets} from './secrets.js'

/**
 * GrayConfig without `file` and `state` (where the run lives is how it was found, not
 * part of what it drives), its strings in gray.yaml's syntax: `${VAR}` reads the
 * environment, `$${` is a literal `${`.
 */
export type FrozenConfig = Record<string, unknown>

export interface Frozen {
  config: FrozenConfig
  /** sha256 of the frozen config's canonical JSON, hex */
  hash: string
}

/** a reference fillEnv would fill (./env.ts): what a literal must have escaped */
const FILLABLE = /\$\{[^}]*\}/g
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** `text` as gray.yaml would write it literally: fillEnv gives `text` back */
export function escapeLiteral(text: string): string {
  return text.replace(FILLABLE, (ref) => `$${ref}`)
}

function escapeDeep(value: unknown): unknown {
  if (typeof value === 'string') return escapeLiteral(value)
  if (Array.isArray(value)) return value.map(escapeDeep)
  if (value !== null && typeof value === 'object') {
    // a key present but undefined is what JSON, and so the journal, leaves out
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, escapeDeep(v)]))
  }
  return value
}

/**
 * The reference form of a loaded config: `resolved` (what the loader made of the
 * document, env filled) with each value that came from a `${VAR}` written back as
 * gray.yaml had it (`raw`, the document before env was filled; `filled`, where
 * env was used). A `${VAR}` in a field the schema turns into something else (a
 * duration, a sticky key) stays as the value it had at start: no secret is such
 * a field; one that would be is caught by `literalSecretProblems`.
 */
export function referenceForm(resolved: GrayConfig, raw?: unknown, filledDoc?: unknown, filled: EnvFilled = new EnvFilled()): FrozenConfig {
  const {file: _file, state: _state, ...rest} = resolved
  const out = escapeDeep(structuredClone(rest)) as FrozenConfig
  for (const {path} of filled.entries()) {
    if (path[0] === 'state') continue
    const template = valueAt(raw, path)
    const value = valueAt(filledDoc, path)
    if (typeof template === 'string' && typeof value === 'string' && value !== '') putBack(out, path, escapeLiteral(value), template)
  }
  return out
}

/** Writes `template` where `value` (escaped) stands at `path`, inside it (a host written as one string), or beside it (a renamed key). */
function putBack(root: FrozenConfig, path: ConfigPath, value: string, template: string): void {
  const swap = (text: string): string | undefined => {
    if (text === value) return template
    // a path the loader resolved beside gray.yaml: the value is its end
    if (text.endsWith(value) && text.startsWith('/')) return text.slice(0, -value.length) + template
    return undefined
  }
  const setIn = (holder: Record<PropertyKey, unknown>, depth: number): void => {
    for (const [key, item] of Object.entries(holder)) {
      if (typeof item === 'string') {
        const swapped = swap(item)
        if (swapped !== undefined) holder[key] = swapped
      } else if (depth > 0 && item !== null && typeof item === 'object') setIn(item as Record<PropertyKey, unknown>, depth - 1)
    }
  }
  const parent = valueAt(root, path.slice(0, -1))
  if (parent === null || typeof parent !== 'object') return
  const key = path.at(-1) as PropertyKey
  const here = (parent as Record<PropertyKey, unknown>)[key]
  if (typeof here === 'string') {
    const swapped = swap(here)
    if (swapped !== undefined) (parent as Record<PropertyKey, unknown>)[key] = swapped
  } else if (here !== null && typeof here === 'object') setIn(here as Record<PropertyKey, unknown>, 0)
  else if (here === undefined) setIn(parent as Record<PropertyKey, unknown>, 1)
}

// ── the form of each loaded config ──────────────────────────────────────────

const forms = new WeakMap<GrayConfig, FrozenConfig>()

/** The loader's note of a config's reference form (./load.ts). */
export function rememberForm(config: GrayConfig, form: FrozenConfig): void {
  forms.set(config, form)
}

/**
 * `form` with the pools an inventory gave (hosts.gray / hosts.stable from a command or a file) written
 * as listed hosts, and `inventory` gone: what a run started from it froze (docs/hosts.md).
 */
export function withListedHosts(form: FrozenConfig, pools: Record<string, unknown>): FrozenConfig {
  const {inventory: _inventory, ...rest} = form
  const hosts = rest.hosts !== null && typeof rest.hosts === 'object' ? (rest.hosts as Record<string, unknown>) : {}
  return {...rest, hosts: {...hosts, ...(escapeDeep(structuredClone(pools)) as Record<string, unknown>)}}
}

/** The reference form of a loaded config; one built in code has no `${VAR}`, so it is its own. */
export function frozenFormOf(config: GrayConfig): FrozenConfig {
  return forms.get(config) ?? referenceForm(config)
}

/** sha256 of `frozen`'s JSON with sorted keys: the same config has the same hash wherever it was loaded */
export function configHash(frozen: FrozenConfig): string {
  return createHash('sha256').update(canonical(frozen)).digest('hex')
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}

/** every [path, string] in the form */
function leaves(root: unknown, path: ConfigPath = []): Array<[ConfigPath, unknown]> {
  if (Array.isArray(root)) return root.length === 0 ? [[path, []]] : root.flatMap((item, i) => leaves(item, [...path, i]))
  if (root !== null && typeof root === 'object') {
    const entries = Object.entries(root)
    return entries.length === 0 && path.length > 0 ? [[path, {}]] : entries.flatMap(([k, v]) => leaves(v, [...path, k]))
  }
  return [[path, root]]
}

/**
 * Fields of the form that hold a secret's value rather than a reference to it: a
 * credential written into gray.yaml itself (or a URL's user or password). The
 * journal must never hold one, so such a run is not started.
 */
export function literalSecretProblems(frozen: FrozenConfig, secrets: readonly string[] = secretValues()): string[] {
  if (secrets.length === 0) return []
  return leaves(frozen)
    .filter(([, value]) => typeof value === 'string' && redact(value, secrets) !== value)
    .map(([path]) =>
      problem(path, 'must take its secret from the environment, written "${VAR}": a run keeps its config in its journal, where no secret may go', 'a secret written into gray.yaml itself'),
    )
}

/** The config a new run freezes; refuses (exit 2) one that holds a secret's value. */
export function freezeConfig(config: GrayConfig, secrets: readonly string[] = secretValues()): Frozen {
  const form = frozenFormOf(config)
  const problems = literalSecretProblems(form, secrets)
  if (problems.length > 0) throw new InvalidConfigError(problems, 'move the secret to an environment variable and write "${NAME}" in its place; nothing was started')
  return {config: form, hash: configHash(form)}
}

// ── differences ─────────────────────────────────────────────────────────────

export interface ConfigChange {
  /** dotted key, as gray.yaml's messages name it: `steps[1].bake` */
  key: string
  from: string
  to: string
}

/**
 * The keys whose values differ, in the order of the old form then the new; values as references,
 * durations as durations. A block only one side has is one change, named where it begins.
 */
export function diffConfigs(before: FrozenConfig, after: FrozenConfig): ConfigChange[] {
  const flat = (form: FrozenConfig) => new Map(leaves(form).map(([path, value]) => [formatPath(path), {path, value}]))
  const a = flat(before)
  const b = flat(after)
  /** the first part of `path` that `form` lacks */
  const missingFrom = (form: FrozenConfig, path: ConfigPath): ConfigPath => {
    for (let i = 1; i < path.length; i++) if (valueAt(form, path.slice(0, i)) === undefined) return path.slice(0, i)
    return path
  }
  const seen = new Set<string>()
  const changes: ConfigChange[] = []
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key)
    const y = b.get(key)
    if (x && y && JSON.stringify(x.value) === JSON.stringify(y.value)) continue
    let path = (x ?? y)?.path ?? []
    if (!x || !y) {
      const other = x ? after : before
      // an empty list on one side, entries on the other: the entries say it
      if (valueAt(other, path) !== undefined) continue
      path = missingFrom(other, path)
    }
    const shownKey = formatPath(path)
    if (seen.has(shownKey)) continue
    seen.add(shownKey)
    const last = String(path.at(-1) ?? '')
    const duration = /.Ms$/.test(last)
    changes.push({
      key: duration ? formatPath([...path.slice(0, -1), last.slice(0, -2)]) : shownKey,
      from: describe(valueAt(before, path), duration),
      to: describe(valueAt(after, path), duration),
    })
  }
  return changes
}

function describe(value: unknown, duration: boolean): string {
  if (value === undefined) return '(none)'
  if (duration && typeof value === 'number') return durationText(value)
  // a form holds references, not secrets; a gray.yaml with a literal one is masked all the same
  return redact(JSON.stringify(value))
}

function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** `a: 1 → 2; b: … ; and 3 more`: short enough for one line of an error */
export function changesLine(changes: readonly ConfigChange[], max = 6): string {
  const shown = changes.slice(0, max).map((c) => `${c.key}: ${c.from} → ${c.to}`)
  const more = changes.length > max ? [`and ${changes.length - max} more`] : []
  return [...shown, ...more].join('; ')
}

// ── resolving on this machine ───────────────────────────────────────────────

/** the environment variables `frozen` reads, each with the first field that reads it */
export function referencesOf(frozen: FrozenConfig): Map<string, string> {
  const names = new Map<string, string>()
  for (const [path, value] of leaves(frozen)) {
    if (typeof value !== 'string') continue
    for (const match of value.matchAll(REFERENCE)) {
      const name = match[2] as string
      if (!match[1] && !names.has(name)) names.set(name, formatPath(path))
    }
  }
  return names
}

/**
 * The frozen form filled from this machine's environment, its secrets registered
 * for masking; a variable unset here is refused (exit 2) before anything is done.
 */
export function resolveFrozen(frozen: FrozenConfig, env: Record<string, string | undefined> = process.env): Omit<GrayConfig, 'file' | 'state'> {
  const missing = [...referencesOf(frozen)].filter(([name]) => env[name] === undefined)
  if (missing.length > 0) {
    const [name, where] = missing[0] as [string, string]
    const others = missing.length > 1 ? ` (and ${missing.slice(1).map(([n]) => n).join(', ')})` : ''
    throw new ConfigError(
      `the run's config reads environment variable ${name}${others} for ${where}, and it is unset here; nothing was done`,
      `set ${missing.map(([n]) => n).join(', ')} as where the run was started, then retry`,
    )
  }
  const {value, filled, problems} = fillEnv(frozen, env)
  if (problems.length > 0) throw new InvalidConfigError(problems)
  const secrets = configSecrets(value, filled, env)
  registerSecrets(secrets.secrets)
  if (secrets.problems.length > 0) throw new InvalidConfigError(secrets.problems, 'the run\'s config is filled from this machine\'s environment: set the variables as where the run was started')
  return value as Omit<GrayConfig, 'file' | 'state'>
}
