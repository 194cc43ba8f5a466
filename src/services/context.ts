// What every command needs: the validated config, the service's state (through
// the StateBackend port), and who is acting.
import {existsSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {resolve} from 'node:path'

import type {GrayConfig, StateSettings} from '../core/config/model.js'
import {ConfigError} from '../core/errors.js'
import type {Actor} from '../core/ports.js'
import {lazyBackend, type StateBackend} from '../state/backend.js'
import {ServiceStore} from '../state/store.js'

/** The service's state and who acts: all a command needs that reads or steers a run it does not drive. */
export interface StateContext {
  service: string
  /** opened on first use, closed by closeState() as the command ends */
  backend: StateBackend
  actor: Actor
  /** the local layout (the journal directory; deploy logs live here whatever the backend) */
  store: ServiceStore
  /** absent when the command runs without a gray.yaml (`--service NAME` and GRAY_DATABASE_URL) */
  config?: GrayConfig
}

export interface Context extends StateContext {
  config: GrayConfig
}

/** every backend a context opened in this process, closed as the command ends */
const backends = new Set<StateBackend>()

export function currentActor(): Actor {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    user = process.env.USER ?? 'unknown'
  }
  return {user, host: hostname(), pid: process.pid, ci: Boolean(process.env.CI)}
}

export function openState(state: StateSettings): StateBackend {
  const backend = lazyBackend(state)
  backends.add(backend)
  return backend
}

export function contextOf(config: GrayConfig): Context {
  return {config, service: config.service, backend: openState(config.state), store: new ServiceStore(config.state.dir, config.service), actor: currentActor()}
}

export async function loadContext(file: string): Promise<Context> {
  const {loadConfig} = await import('../core/config/load.js')
  const ctx = contextOf(await loadConfig(file))
  if (ctx.backend.kind === 'local') await ctx.store.trust()
  return ctx
}

/**
 * gray.yaml's context; or, where there is no gray.yaml and `--service` names the
 * service, its state alone: PostgreSQL at GRAY_DATABASE_URL, else `.gray` here
 * (how on-call runs `status`, `promote` or `rollback` from a laptop).
 */
export async function loadStateContext(file: string, service?: string): Promise<StateContext> {
  if (service === undefined || existsSync(file)) {
    const ctx = await loadContext(file)
    if (service !== undefined && service !== ctx.config.service) {
      throw new ConfigError(`--service ${service} does not match ${file}, which is for ${ctx.config.service}`, `leave --service out, or run where there is no gray.yaml (or -c another file)`)
    }
    return ctx
  }
  const state = stateFromEnv()
  const store = new ServiceStore(state.dir, service)
  if (state.backend !== 'postgres') await store.trust()
  return {service, backend: openState(state), store, actor: currentActor()}
}

/** the state a command without gray.yaml uses: GRAY_DATABASE_URL's PostgreSQL, else the journal directory `.gray` here */
export function stateFromEnv(env: Record<string, string | undefined> = process.env): StateSettings {
  const dir = resolve('.gray')
  const url = env.GRAY_DATABASE_URL
  if (!url) return {dir}
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) throw new ConfigError('GRAY_DATABASE_URL must be a PostgreSQL URL like postgres://gray@db.internal:5432/gray')
  return {backend: 'postgres', url, dir}
}

/** Closes every state backend this process opened; the command's last step. */
export async function closeState(): Promise<void> {
  const open = [...backends]
  backends.clear()
  await Promise.all(open.map((b) => b.close().catch(() => undefined)))
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
