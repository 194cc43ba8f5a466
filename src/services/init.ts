// `gray init`: a commented gray.yaml from one of the templates in templates/init/.
import {existsSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {ConfigError} from '../core/errors.js'

export const INIT_TEMPLATES = ['nginx-prometheus', 'haproxy-prometheus', 'apisix-prometheus', 'bfe-prometheus', 'bfe-api-prometheus', 'shenyu-prometheus', 'sandbox'] as const
export type InitTemplate = (typeof INIT_TEMPLATES)[number]

export const TEMPLATE_SUMMARIES: Record<InitTemplate, string> = {
  'nginx-prometheus': 'nginx in front of your hosts, gates on Prometheus queries',
  'haproxy-prometheus': 'HAProxy in front of your hosts (Runtime API, no reload per step), gates on Prometheus queries',
  'bfe-prometheus': 'BFE (route rules and GSLB files, monitor-port reloads), gates on Prometheus queries',
  'bfe-api-prometheus': "BFE through its API server (routes, clusters, schedulers; token auth), gates on Prometheus queries",
  'shenyu-prometheus': 'Apache ShenYu divide plugin (Admin API; per-request weights), gates on Prometheus queries',
  'apisix-prometheus': 'Apache APISIX (Admin API), gates on Prometheus queries',
  sandbox: 'the built-in sandbox gateway on this machine, gates on each host\'s /metrics',
}

const SERVICE = /^[a-z0-9][a-z0-9_.-]{0,62}$/i

export interface InitOptions {
  template: InitTemplate
  service: string
  /** where to write gray.yaml */
  file: string
  force?: boolean
}

export interface InitResult {
  file: string
  template: InitTemplate
  service: string
  /** what the `$schema` comment points at, relative to the file */
  schema: string
  overwritten: boolean
  next: string[]
}

/** The npm package gray is installed as (`npm install -D gray-release`); its binary is `gray`. */
export const PACKAGE_NAME = 'gray-release'

/** The installed package's root: dist/services/init.js (or src/services/init.ts) is two levels down. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
}

export function serviceProblem(service: string): string | null {
  if (!SERVICE.test(service) || service.includes('..')) {
    return `--service: must be a service name of up to 63 letters, digits, _ . - starting with a letter or digit, got "${service}"`
  }
  return null
}

/** A default service name from a directory name, or null when none can be made. */
export function serviceFromDir(dir: string): string | null {
  const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63)
  return name && !serviceProblem(name) ? name : null
}

/** Where the `# yaml-language-server: $schema=` comment points: the project's own copy of gray, else this one. */
export function schemaReference(file: string): string {
  const dir = path.dirname(path.resolve(file))
  const local = path.join(dir, 'node_modules', PACKAGE_NAME, 'schema', 'gray.schema.json')
  const target = existsSync(local) ? local : path.join(packageRoot(), 'schema', 'gray.schema.json')
  // a relative path through the filesystem root says less than the absolute one
  const sharesTop = dir.split(path.sep)[1] === target.split(path.sep)[1]
  if (!sharesTop) return target
  const relative = path.relative(dir, target).split(path.sep).join('/')
  return relative.startsWith('.') ? relative : `./${relative}`
}

export function renderTemplate(text: string, vars: {service: string; schema: string}): string {
  return text
    .replaceAll('{{schema}}', vars.schema)
    .replaceAll('{{service_var}}', vars.service.replace(/[^A-Za-z0-9_]/g, '_'))
    .replaceAll('{{service}}', vars.service)
}

export async function initConfig(options: InitOptions): Promise<InitResult> {
  if (!INIT_TEMPLATES.includes(options.template)) {
    throw new ConfigError(`--template: must be one of ${INIT_TEMPLATES.join(', ')}, got "${options.template}"`)
  }
  const problem = serviceProblem(options.service)
  if (problem) throw new ConfigError(problem)
  const file = path.resolve(options.file)
  const existed = existsSync(file)
  if (existed && !options.force) {
    throw new ConfigError(`${options.file} already exists; nothing was changed`, 'pass --force to overwrite it, or -c to write another file')
  }
  const schema = schemaReference(file)
  const text = await readFile(path.join(packageRoot(), 'templates', 'init', `${options.template}.yaml`), 'utf8')
  try {
    // 'wx' refuses a file that appeared since the check above
    await writeFile(file, renderTemplate(text, {service: options.service, schema}), {flag: options.force ? 'w' : 'wx', mode: 0o644})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new ConfigError(`${options.file} already exists; nothing was changed`, 'pass --force to overwrite it')
    if (code === 'ENOENT') throw new ConfigError(`${options.file}: its directory does not exist`, 'create it first, or pass -c with another path')
    throw error
  }
  const shown = path.relative(process.cwd(), file) || file
  const flag = shown === 'gray.yaml' ? '' : ` -c ${shown}`
  return {
    file,
    template: options.template,
    service: options.service,
    schema,
    overwritten: existed,
    next: [
      `edit ${shown}: hosts, the deploy command, the gateway, the gate queries`,
      `gray validate${flag}`,
      `gray plan${flag} --version V`,
    ],
  }
}
