// Which values of gray.yaml are secrets (see src/core/redact.ts for the rule),
// found on the document after ${VAR} was filled, before the schema.
import {GATEWAYS} from '../../adapters/gateways/registry.js'
import {METRIC_SOURCES} from '../../adapters/metrics/registry.js'
import type {SecretFields} from '../../adapters/gateways/registration.js'
import {MIN_SECRET_LENGTH} from '../redact.js'
import {problem, type ConfigPath, type EnvFilled} from './problems.js'

type Pattern = readonly string[]

/** a token, key or webhook URL shorter than this is no credential, and masking it would hide ordinary words */
export const MIN_CREDENTIAL_LENGTH = 8

type Kind = keyof SecretFields

/** `kind` fields of every registered gateway (and of each of its instances) and metric source */
function registered(kind: Kind): Pattern[] {
  const gateway = [...new Set(GATEWAYS.flatMap((g): readonly string[] => g.secrets?.[kind] ?? []))]
  const source = [...new Set(METRIC_SOURCES.flatMap((m): readonly string[] => m.secrets?.[kind] ?? []))]
  const wide = (key: string): Pattern => (kind === 'argv' ? [key, '*'] : [key])
  return [
    ...gateway.map((key) => ['gateway', ...wide(key)]),
    ...gateway.map((key) => ['gateway', 'instances', '*', ...wide(key)]),
    ...source.map((key) => ['metrics', '*', ...wide(key)]),
  ]
}

/** fields whose whole value is a credential, whoever wrote it */
const CREDENTIAL_FIELDS: Pattern[] = [...registered('credentials'), ['notify', '*', 'webhook'], ['config', 'password']]

/** fields where a ${VAR}'s value is a secret, whatever the variable's name */
const VAR_FIELDS: Pattern[] = [
  ['deploy', 'command', '*'],
  ['hosts', '*', 'command', '*'],
  ['deploy', 'ssh', '*'],
  ['hooks', '*', '*'],
  ...registered('argv'),
  ['traffic', 'tag', 'value'],
  ['state', 'url'],
  ...CREDENTIAL_FIELDS,
]

/** URLs whose user and password are credentials */
const URL_FIELDS: Pattern[] = [...registered('urls'), ['deploy', 'health', 'url'], ['state', 'url'], ['notify', '*', 'webhook'], ['config', 'endpoints', '*']]

function matches(pattern: Pattern, path: ConfigPath): boolean {
  return pattern.length === path.length && pattern.every((p, i) => p === '*' || p === String(path[i]))
}

function valueAt(root: unknown, path: ConfigPath): unknown {
  let here: unknown = root
  for (const key of path) {
    if (here === null || typeof here !== 'object' || !Object.hasOwn(here, key)) return undefined
    here = (here as Record<PropertyKey, unknown>)[key]
  }
  return here
}

/** every [path, string] in the document */
function leaves(root: unknown, path: ConfigPath = []): Array<[ConfigPath, string]> {
  if (typeof root === 'string') return [[path, root]]
  if (Array.isArray(root)) return root.flatMap((item, i) => leaves(item, [...path, i]))
  if (root !== null && typeof root === 'object') return Object.entries(root).flatMap(([k, v]) => leaves(v, [...path, k]))
  return []
}

export interface ConfigSecrets {
  secrets: string[]
  /** secrets too short to mask: validate refuses them */
  problems: string[]
}

export function configSecrets(document: unknown, filled: EnvFilled, env: Record<string, string | undefined>): ConfigSecrets {
  const secrets = new Set<string>()
  const problems: string[] = []
  const short = (value: string) => value.length > 0 && value.length < MIN_SECRET_LENGTH

  for (const [path, value] of leaves(document)) {
    if (CREDENTIAL_FIELDS.some((p) => matches(p, path))) {
      if (value.length < MIN_CREDENTIAL_LENGTH) {
        problems.push(problem(path, `must be at least ${MIN_CREDENTIAL_LENGTH} characters: gray masks this credential in everything it writes, and one this short would mask ordinary words`, `${value.length} character${value.length === 1 ? "" : "s"}`))
      } else secrets.add(value)
    }
    if (URL_FIELDS.some((p) => matches(p, path))) {
      try {
        const url = new URL(value)
        for (const part of [url.username, url.password]) {
          const decoded = safeDecode(part)
          if (decoded.length >= MIN_SECRET_LENGTH) secrets.add(decoded)
        }
        // what an HTTP client sends for them: Authorization: Basic base64(user:password)
        if (url.password) secrets.add(`${safeDecode(url.username)}:${safeDecode(url.password)}`)
      } catch {
        // not a URL: the schema says so
      }
    }
  }

  for (const {path, vars} of filled.entries()) {
    if (!VAR_FIELDS.some((p) => matches(p, path))) continue
    if (typeof valueAt(document, path) !== 'string') continue
    for (const name of vars) {
      const value = env[name] ?? ''
      if (short(value)) {
        problems.push(
          problem(
            path,
            `must not take a value of fewer than ${MIN_SECRET_LENGTH} characters from \${${name}}: gray treats every \${VAR} here as a secret and masks it, and a value this short cannot be masked; write it in gray.yaml itself, or use a longer one`,
            `a value from \${${name}}`,
          ),
        )
      } else if (value) secrets.add(value)
    }
  }
  return {secrets: [...secrets], problems: [...new Set(problems)]}
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
