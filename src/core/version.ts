// A version names files, labels, queries and deploy arguments: keep it to
// characters that mean nothing to a shell, PromQL or a URL.
import {ConfigError} from './errors.js'

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/

export function checkVersion(value: string, flag: string): string {
  if (!VERSION.test(value)) {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    throw new ConfigError(`${flag}: must be letters, digits and . _ + - (at most 128, starting with a letter or digit), got ${shown}`)
  }
  return value
}
