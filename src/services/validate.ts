// `gray validate`: every check a run relies on, without changing anything.
import type {InventoryRead} from '../core/config/inventory.js'
import {buildPlan} from '../core/plan.js'
import {errorMessage, GrayError} from '../core/errors.js'
import {shown} from '../core/redact.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'
import {resolveInventory} from './inventory.js'
import {currentVersion} from './runs.js'

export interface ValidateResult {
  file: string
  service: string
  gateway: string
  steps: number
  checks: number
  warnings: string[]
  connect?: ConnectCheck[]
  /** the pools read from an inventory; a command only with --connect */
  inventory?: InventoryRead[]
}

/** One check of --connect; `what` and `detail` already fit for a terminal (shown()). */
export interface ConnectCheck {
  what: string
  ok: boolean
  detail: string
}

/** What --connect is doing, as it happens: each kind of check starts, (hosts) each one ends, each kind ends with its results. */
export type ValidatePhase = 'gateway' | 'hosts' | 'gates'
export type ValidateProgress =
  | {phase: 'gateway'; event: 'start'; what: string}
  | {phase: 'hosts' | 'gates'; event: 'start'; count: number}
  | {phase: 'hosts'; event: 'item'; result: ConnectCheck}
  | {phase: ValidatePhase; event: 'done'; results: ConnectCheck[]}

export interface ValidateOptions {
  connect?: boolean
  /** told of each phase of --connect as it runs; only watches (a throw here is a bug of the caller) */
  progress?: (event: ValidateProgress) => void
}

export async function validateService(file: string, options: ValidateOptions = {}): Promise<ValidateResult> {
  const loaded = await loadContext(file)
  // an inventory file is read; an inventory command runs only with --connect (it may need access CI lacks)
  const {config, read} = await resolveInventory(loaded.config, {commands: options.connect === true})
  const ctx = {...loaded, config}
  const gateway = await preflight(ctx)
  const plan = buildPlan(ctx.config, gateway, 'next', await currentVersion(ctx))
  const result: ValidateResult = {
    file: ctx.config.file,
    service: ctx.config.service,
    gateway: ctx.config.gateway.type,
    steps: ctx.config.steps.length,
    checks: ctx.config.gates?.checks.length ?? 0,
    warnings: plan.warnings,
    ...(read.length > 0 ? {inventory: read} : {}),
  }
  if (options.connect) {
    // the display only watches: whatever it does, the checks go on
    const progress = (event: ValidateProgress) => {
      try {
        options.progress?.(event)
      } catch {
        // nothing: a display that fails must not fail the checks
      }
    }
    // peers' words reach a terminal: secrets masked, escapes shown as text
    const check = (what: string, ok: boolean, detail: string): ConnectCheck => ({what, ok, detail: shown(detail)})
    const gatewayWhat = `${ctx.config.gateway.type} gateway`
    const hosts = [...ctx.config.hosts.gray, ...ctx.config.hosts.stable]
    const gates = ctx.config.gates?.checks.length ?? 0
    // the three kinds run side by side (none waits on another); the results keep their order
    const reachGateway = async (): Promise<ConnectCheck[]> => {
      progress({phase: 'gateway', event: 'start', what: shown(gatewayWhat)})
      let found: ConnectCheck
      try {
        const signal = AbortSignal.timeout(5_000)
        await gateway.check?.(signal)
        const served = await gateway.readBack(signal)
        found = check(gatewayWhat, true, served ? `serves revision ${served.revision} (${served.mode}, ${served.weightBp / 100}%)` : 'reachable; no gray policy yet')
      } catch (error) {
        found = check(gatewayWhat, false, errorMessage(error) + (error instanceof GrayError && error.hint ? `; ${error.hint}` : ''))
      }
      progress({phase: 'gateway', event: 'done', results: [found]})
      return [found]
    }
    // every host, by a TCP connection to its address (what the gateway proxies to)
    const reachHosts = async (): Promise<ConnectCheck[]> => {
      progress({phase: 'hosts', event: 'start', count: hosts.length})
      const limit = (await import('p-limit')).default(16)
      const found = await Promise.all(
        hosts.map((h) =>
          limit(async () => {
            const problem = await connectTo(h.address, 3_000)
            const one = check(`host ${h.name}${h.name === h.address ? '' : ` (${h.address})`}`, problem === null, problem ?? 'accepts connections')
            progress({phase: 'hosts', event: 'item', result: one})
            return one
          }),
        ),
      )
      progress({phase: 'hosts', event: 'done', results: found})
      return found
    }
    // every gate's query, once, for the version running now (and stable, where a check has a baseline)
    const runGates = async (): Promise<ConnectCheck[]> => {
      progress({phase: 'gates', event: 'start', count: gates})
      const {probeSources} = await import('../adapters/metrics/connect.js')
      const previousVersion = (await currentVersion(ctx)) ?? undefined
      const found = (await probeSources(ctx.config, {previousVersion, signal: AbortSignal.timeout(15_000)})).map((p) => {
        const what = `gate ${p.check} (${p.source}, ${p.cohort} ${p.version})`
        const value = p.value === null ? 'no data now' : `${p.value}${p.samples === null ? '' : ` over ${p.samples} samples`}`
        return check(what, p.ok, p.ok ? `${value}${p.query ? ` — ${p.query}` : ''}` : `${p.error ?? 'failed'}${p.query ? ` — ${p.query}` : ''}`)
      })
      progress({phase: 'gates', event: 'done', results: found})
      return found
    }
    const [g, h, q] = await Promise.all([reachGateway(), reachHosts(), runGates()])
    result.connect = [...g, ...h, ...q]
  }
  return result
}

/** null once a TCP connection to `address` (host:port) opens within `timeoutMs`; else why not */
async function connectTo(address: string, timeoutMs: number): Promise<string | null> {
  const {connect} = await import('node:net')
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  const port = Number(address.slice(colon + 1))
  return new Promise((resolve) => {
    const socket = connect({host, port})
    const done = (result: string | null) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`))
    socket.once('connect', () => done(null))
    socket.once('error', (error: NodeJS.ErrnoException) => done(`cannot connect (${error.code ?? error.message})`))
  })
}
