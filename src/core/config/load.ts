// Reads gray.yaml: YAML (duplicate keys are errors) → ${VAR} from the
// environment → schema → meaning checks. Any problem is an InvalidConfigError.
import path from 'node:path'
import {fillEnv} from './env.js'
import {expectedFor, issuesToProblems} from './issues.js'
import {gatewayRegistration} from '../../adapters/gateways/registry.js'
import type {GatewayConfig, GrayConfig} from './model.js'
import {readConfigFile} from './file.js'
import {InvalidConfigError} from './problems.js'
import {grayConfigSchema} from './schema.js'
import {configRunSchema, isConfigRun} from './config-run.js'
import {configSecrets} from './secrets.js'
import {referenceForm, rememberForm} from './frozen.js'
import {registerSecrets} from '../redact.js'
import {validateConfig} from './validate.js'

type Env = Record<string, string | undefined>

export async function loadConfig(file: string, env: Env = process.env): Promise<GrayConfig> {
  return configFromObject(await readConfigFile(file), path.resolve(file), env)
}

/** The same checks as loadConfig, for a config built in code (the demo, tests). */
export function configFromObject(input: unknown, file: string, env: Env = process.env): GrayConfig {
  const absolute = path.resolve(file)
  const {value, filled, problems: envProblems} = fillEnv(input, env)
  if (envProblems.length > 0) throw new InvalidConfigError(envProblems)
  // registered before anything can print: every message from here on masks them
  const secrets = configSecrets(value, filled, env)
  registerSecrets(secrets.secrets)

  const parsed = (isConfigRun(value) ? configRunSchema : grayConfigSchema).safeParse(value, {error: expectedFor})
  if (!parsed.success) throw new InvalidConfigError(issuesToProblems(parsed.error.issues, value, filled))

  const meaning = [...validateConfig(parsed.data, filled), ...secrets.problems]
  if (meaning.length > 0) throw new InvalidConfigError(meaning)

  const dir = path.dirname(absolute)
  const paths = gatewayRegistration<GatewayConfig>(parsed.data.gateway.type).paths
  const gateway = paths ? paths(parsed.data.gateway, dir) : parsed.data.gateway
  const {ssh} = parsed.data.deploy
  const deploy = ssh
    ? {
        ...parsed.data.deploy,
        ssh: {...ssh, identityFile: besideConfig(dir, ssh.identityFile), knownHostsFile: besideConfig(dir, ssh.knownHostsFile)},
      }
    : parsed.data.deploy
  const config: GrayConfig = {file: absolute, ...parsed.data, state: {...parsed.data.state, dir: path.resolve(dir, parsed.data.state.dir)}, gateway, deploy}
  // what a run started with this config freezes: the same, with each ${VAR} as written
  rememberForm(config, referenceForm(config, input, value, filled))
  return config
}

/** A relative path in gray.yaml means beside gray.yaml, not wherever gray was started; ssh expands `~` itself. */
function besideConfig(dir: string, file: string | undefined): string | undefined {
  if (file === undefined || file.startsWith('~') || path.isAbsolute(file)) return file
  return path.resolve(dir, file)
}

