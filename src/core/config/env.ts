// `${VAR}` in any string value reads the environment; `$${VAR}` stands for the
// text `${VAR}`. Done on parsed values, so a variable can never inject YAML.
import {EnvFilled, formatPath, type ConfigPath} from './problems.js'

const REFERENCE = /\$(\$?)\{([^}]*)\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface Filled {
  value: unknown
  filled: EnvFilled
  problems: string[]
}

export function fillEnv(root: unknown, env: Record<string, string | undefined>): Filled {
  const filled = new EnvFilled()
  const problems: string[] = []

  const fillString = (text: string, path: ConfigPath): string => {
    const used: string[] = []
    const out = text.replace(REFERENCE, (whole, escape: string, name: string) => {
      if (escape) return whole.slice(1)
      if (!NAME.test(name)) {
        problems.push(`${formatPath(path)}: must name an environment variable like \${SENTRY_TOKEN} (write $\${…} for a literal), got ${JSON.stringify(whole)}`)
        return whole
      }
      const value = env[name]
      if (value === undefined) {
        problems.push(`${formatPath(path)}: needs environment variable ${name} (set it, or write $\${${name}} for the literal text), got it unset`)
        return whole
      }
      used.push(name)
      return value
    })
    if (used.length > 0) filled.add(path, [...new Set(used)])
    return out
  }

  const walk = (value: unknown, path: ConfigPath): unknown => {
    if (typeof value === 'string') return fillString(value, path)
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i]))
    if (value !== null && typeof value === 'object') {
      // a key named __proto__ would set an object's prototype wherever it is copied: never a gray.yaml key
      for (const key of Object.keys(value)) {
        if (key === '__proto__') problems.push(`${formatPath([...path, key])}: must not be named __proto__ (no gray.yaml key is), got __proto__`)
      }
      return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '__proto__').map(([key, item]) => [key, walk(item, [...path, key])]))
    }
    return value
  }

  return {value: walk(root, []), filled, problems}
}
