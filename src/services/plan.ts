import {configHash, frozenFormOf, literalSecretProblems, referencesOf} from '../core/config/frozen.js'
import {buildPlan, type Plan} from '../core/plan.js'
import {checkVersion} from '../core/version.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'
import {resolveInventory} from './inventory.js'
import {currentVersion} from './runs.js'

export async function planService(file: string, version: string, previousVersion?: string): Promise<Plan> {
  checkVersion(version, '--version')
  if (previousVersion !== undefined) checkVersion(previousVersion, '--previous-version')
  const loaded = await loadContext(file)
  // what a run started now would read from its inventories, and freeze
  const {config, read} = await resolveInventory(loaded.config)
  const ctx = {...loaded, config}
  const gateway = await preflight(ctx)
  const plan = buildPlan(ctx.config, gateway, version, previousVersion ?? (await currentVersion(ctx)))
  // the run keeps this config: the same hash at resume means the same config; a secret's value would be refused by start
  const form = frozenFormOf(ctx.config)
  const literal = literalSecretProblems(form).map((p) => `${p}: start refuses it`)
  return {...plan, warnings: [...plan.warnings, ...literal], config: {hash: configHash(form), reads: [...referencesOf(form).keys()]}, ...(read.length > 0 ? {inventory: read} : {})}
}
