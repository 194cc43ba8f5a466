// What `gray status` needs from gray.yaml — the service, the state dir and the
// gateway — read without the schema library, so on-call's most frequent command
// starts fast. Anything unusual returns null and the caller uses loadConfig,
// which reports every problem precisely; `gray validate` checks the rest.
import path from 'node:path'

import {fillEnv} from './env.js'
import {configSecrets} from './secrets.js'
import {registerSecrets} from '../redact.js'
import {readConfigFile} from './file.js'
import type {GatewayConfig, GrayConfig} from './model.js'
import {haproxyDefaults, haproxyPaths} from './haproxy-defaults.js'

export type StatusConfig = Pick<GrayConfig, 'file' | 'service' | 'state' | 'gateway'>

type Env = Record<string, string | undefined>
type Fields = Record<string, unknown>

const SERVICE = /^[a-z0-9][a-z0-9_.-]{0,62}$/i
const HOST_PORT = /^[^\s:/]+:\d{1,5}$/

const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v)
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isText)
const onlyKeys = (o: Fields, keys: string[]) => Object.keys(o).every((k) => keys.includes(k))

export async function readStatusConfig(file: string, env: Env = process.env): Promise<StatusConfig | null> {
  const absolute = path.resolve(file)
  const {value, filled, problems} = fillEnv(await readConfigFile(file), env)
  if (problems.length > 0 || !isFields(value)) return null
  const secrets = configSecrets(value, filled, env)
  if (secrets.problems.length > 0) return null
  registerSecrets(secrets.secrets)
  const {service, state} = value
  if (!isText(service) || !SERVICE.test(service) || service.includes('..')) return null
  let stateDir = '.gray'
  if (state !== undefined) {
    if (!isFields(state) || !onlyKeys(state, ['dir'])) return null
    if (state.dir !== undefined) {
      if (!isText(state.dir)) return null
      stateDir = state.dir
    }
  }
  const dir = path.dirname(absolute)
  const gateway = gatewayOf(value.gateway, service, dir)
  return gateway ? {file: absolute, service, state: {dir: path.resolve(dir, stateDir)}, gateway} : null
}

/** The gateway block with the schema's defaults, or null when it is anything but plainly valid. */
function gatewayOf(g: unknown, service: string, dir: string): GatewayConfig | null {
  if (!isFields(g)) return null
  switch (g.type) {
    case 'sandbox': {
      if (!onlyKeys(g, ['type', 'listen', 'admin'])) return null
      const listen = g.listen ?? '127.0.0.1:8080'
      const admin = g.admin ?? '127.0.0.1:8081'
      if (!isText(listen) || !isText(admin) || !HOST_PORT.test(listen) || !HOST_PORT.test(admin)) return null
      return {type: 'sandbox', listen, admin}
    }
    case 'nginx': {
      if (!onlyKeys(g, ['type', 'include', 'variable', 'test', 'reload']) || !isText(g.include)) return null
      const variable = g.variable ?? `gray_${service.replace(/[^A-Za-z0-9_]/g, '_')}_upstream`
      const test = g.test ?? ['nginx', '-t']
      const reload = g.reload ?? ['nginx', '-s', 'reload']
      if (!isText(variable) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || !isArgv(test) || !isArgv(reload)) return null
      return {type: 'nginx', include: path.resolve(dir, g.include), variable, test, reload}
    }
    case 'apisix': {
      if (!onlyKeys(g, ['type', 'url', 'routeId', 'key']) || !isText(g.url) || !/^https?:\/\//.test(g.url)) return null
      const routeId = typeof g.routeId === 'number' && Number.isInteger(g.routeId) && g.routeId >= 0 ? String(g.routeId) : g.routeId
      if (!isText(routeId) || (g.key !== undefined && !isText(g.key))) return null
      return {type: 'apisix', url: g.url, routeId, ...(g.key === undefined ? {} : {key: g.key})}
    }
    case 'http': {
      if (!onlyKeys(g, ['type', 'url', 'token']) || !isText(g.url) || !/^https?:\/\//.test(g.url)) return null
      if (g.token !== undefined && !isText(g.token)) return null
      return {type: 'http', url: g.url, ...(g.token === undefined ? {} : {token: g.token})}
    }
    case 'haproxy': {
      if (!onlyKeys(g, ['type', 'fragment', 'socket', 'bind', 'test', 'reload']) || !isText(g.fragment)) return null
      const socket = g.socket ?? '/run/haproxy/admin.sock'
      const reload = g.reload ?? ['systemctl', 'reload', 'haproxy']
      if (!isText(socket) || !isArgv(reload) || (g.test !== undefined && !isArgv(g.test))) return null
      if (g.bind !== undefined && !(isArgv(g.bind) && g.bind.every((b) => /^[^\s#'"\\][^#'"\\\r\n]*$/.test(b)))) return null
      return haproxyPaths(haproxyDefaults({type: 'haproxy', fragment: g.fragment, socket, bind: g.bind, test: g.test, reload}, service), dir)
    }
    default:
      return null
  }
}
