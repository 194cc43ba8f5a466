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
import {DEFAULT_STATE_DIR, isFields, isText, onlyKeys, SERVICE_NAME} from './plain.js'
import {findGateway} from '../../adapters/gateways/registry.js'

export type StatusConfig = Pick<GrayConfig, 'file' | 'service' | 'state' | 'gateway'>

type Env = Record<string, string | undefined>

export async function readStatusConfig(file: string, env: Env = process.env): Promise<StatusConfig | null> {
  const absolute = path.resolve(file)
  const {value, filled, problems} = fillEnv(await readConfigFile(file), env)
  if (problems.length > 0 || !isFields(value)) return null
  const secrets = configSecrets(value, filled, env)
  if (secrets.problems.length > 0) return null
  registerSecrets(secrets.secrets)
  const {service, state} = value
  if (!isText(service) || !SERVICE_NAME.test(service) || service.includes('..')) return null
  let stateDir = DEFAULT_STATE_DIR
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

/** The gateway block with the schema's defaults, as its registration reads it, or null when it is anything but plainly valid. */
function gatewayOf(g: unknown, service: string, dir: string): GatewayConfig | null {
  if (!isFields(g) || typeof g.type !== 'string') return null
  const status = findGateway<GatewayConfig>(g.type)?.status
  return status ? status(g, service, dir) : null
}
