// How config problems are worded: `<path>: <what was expected>, got <what was found>`.
// Values filled from the environment are never echoed; they may be secrets.
import {ConfigError} from '../errors.js'
import {escapeControls} from '../redact.js'

export type ConfigPath = readonly PropertyKey[]

/** A gray.yaml that cannot be used; `message` is the first problem, `problems` all of them. */
export class InvalidConfigError extends ConfigError {
  readonly problems: string[]
  /** what to do, without the count of further problems */
  readonly fix?: string

  constructor(problems: string[], hint?: string) {
    const [first = 'the config is invalid', ...rest] = problems
    const more = rest.length > 0 ? `${rest.length} more problem${rest.length === 1 ? '' : 's'}: run "gray validate" to list them all` : undefined
    super(first, [hint, more].filter(Boolean).join('; ') || undefined)
    this.name = 'InvalidConfigError'
    this.problems = problems.length > 0 ? problems : [first]
    this.fix = hint
  }
}

/** `steps[2].weight`; the empty path is the document itself. */
export function formatPath(path: ConfigPath): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else if (!/^[A-Za-z0-9_-]+$/.test(String(key))) out += `[${JSON.stringify(String(key))}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(top level)' : out
}

/**
 * Where environment variables were filled in, by formatted path, with the
 * variables each value came from.
 */
export class EnvFilled {
  private readonly byPath = new Map<string, string[]>()
  private readonly raw: Array<{path: ConfigPath; vars: string[]}> = []

  add(path: ConfigPath, vars: string[]): void {
    this.byPath.set(formatPath(path), vars)
    this.raw.push({path, vars})
  }

  /** every filled value: where it is and the variables that filled it */
  entries(): ReadonlyArray<{path: ConfigPath; vars: string[]}> {
    return this.raw
  }

  /** variables that filled the value at `path` or anything inside it */
  varsAt(path: ConfigPath): string[] {
    const at = formatPath(path)
    const vars = new Set<string>()
    for (const [filled, names] of this.byPath) {
      if (filled === at || at === '(top level)' || filled.startsWith(`${at}.`) || filled.startsWith(`${at}[`)) {
        for (const name of names) vars.add(name)
      }
    }
    return [...vars]
  }
}

const MAX_SHOWN = 60

/** What was found, in words a user recognises, without echoing secrets. */
export function describeFound(value: unknown, vars: string[] = []): string {
  if (vars.length > 0) return `a value from ${vars.map((v) => `\${${v}}`).join(', ')}`
  if (value === undefined) return 'nothing'
  if (value === null) return 'an empty value'
  if (typeof value === 'string') return value === '' ? 'an empty string' : quote(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none'
    const shown = `[${value.map((v) => (typeof v === 'string' ? quote(v) : String(v))).join(', ')}]`
    const scalars = value.every((v) => ['string', 'number', 'boolean'].includes(typeof v))
    return scalars && shown.length <= MAX_SHOWN ? shown : `a list of ${value.length}`
  }
  if (typeof value === 'object') return 'a mapping'
  return typeof value
}

function quote(text: string): string {
  const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text
  // JSON escapes C0 controls; bidi and C1 controls are shown escaped too, so a message never reorders a terminal line
  return escapeControls(JSON.stringify(shown))
}

/** The value at `path` inside a parsed YAML document, or undefined. */
export function valueAt(root: unknown, path: ConfigPath): unknown {
  let here: unknown = root
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined
    here = (here as Record<PropertyKey, unknown>)[key]
  }
  return here
}

export function problem(path: ConfigPath | string, expected: string, found: string): string {
  return `${typeof path === 'string' ? path : formatPath(path)}: ${expected}, got ${found}`
}
