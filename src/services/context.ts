// What every command needs: the validated config, the service's state store, and who is acting.
import {hostname, userInfo} from 'node:os'

import type {GrayConfig} from '../core/config/model.js'
import type {Actor} from '../core/ports.js'
import {ServiceStore} from '../state/store.js'

export interface Context {
  config: GrayConfig
  store: ServiceStore
  actor: Actor
}

export function currentActor(): Actor {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    user = process.env.USER ?? 'unknown'
  }
  return {user, host: hostname(), pid: process.pid, ci: Boolean(process.env.CI)}
}

export function contextOf(config: GrayConfig): Context {
  return {config, store: new ServiceStore(config.state.dir, config.service), actor: currentActor()}
}

export async function loadContext(file: string): Promise<Context> {
  const {loadConfig} = await import('../core/config/load.js')
  const ctx = contextOf(await loadConfig(file))
  await ctx.store.trust()
  return ctx
}


/**
 * How long a silent driver keeps its lock before another may take over
 * (GRAY_LOCK_STALE_MS, at least 2 s; default 10 s). A driver hung longer than
 * this loses the lock and its late writes are refused.
 */
export function lockStaleMs(env: Record<string, string | undefined> = process.env): number {
  const n = Number(env.GRAY_LOCK_STALE_MS)
  // at most a day: the limit feeds timers, which overflow past 2^31-1 ms
  return Number.isFinite(n) && n >= 2_000 ? Math.min(n, 86_400_000) : 10_000
}
