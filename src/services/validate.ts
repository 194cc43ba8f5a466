// `gray validate`: every check a run relies on, without changing anything.
import {buildPlan} from '../core/plan.js'
import {errorMessage, GrayError} from '../core/errors.js'
import {shown} from '../core/redact.js'
import {loadContext} from './context.js'
import {preflight} from './drive.js'
import {currentVersion} from './runs.js'

export interface ValidateResult {
  file: string
  service: string
  gateway: string
  steps: number
  checks: number
  warnings: string[]
  connect?: Array<{what: string; ok: boolean; detail: string}>
}

export async function validateService(file: string, options: {connect?: boolean} = {}): Promise<ValidateResult> {
  const ctx = await loadContext(file)
  const gateway = await preflight(ctx)
  const plan = buildPlan(ctx.config, gateway, 'next', await currentVersion(ctx.store))
  const result: ValidateResult = {
    file: ctx.config.file,
    service: ctx.config.service,
    gateway: ctx.config.gateway.type,
    steps: ctx.config.steps.length,
    checks: ctx.config.gates?.checks.length ?? 0,
    warnings: plan.warnings,
  }
  if (options.connect) {
    const connect: NonNullable<ValidateResult['connect']> = []
    try {
      const signal = AbortSignal.timeout(5_000)
      await gateway.check?.(signal)
      const served = await gateway.readBack(signal)
      connect.push({what: `${ctx.config.gateway.type} gateway`, ok: true, detail: served ? `serves revision ${served.revision} (${served.mode}, ${served.weightBp / 100}%)` : 'reachable; no gray policy yet'})
    } catch (error) {
      connect.push({what: `${ctx.config.gateway.type} gateway`, ok: false, detail: errorMessage(error) + (error instanceof GrayError && error.hint ? `; ${error.hint}` : '')})
    }
    // every host, by a TCP connection to its address (what the gateway proxies to)
    const hosts = [...ctx.config.hosts.gray, ...ctx.config.hosts.stable]
    const limit = (await import('p-limit')).default(16)
    const reached = await Promise.all(hosts.map((h) => limit(() => connectTo(h.address, 3_000))))
    hosts.forEach((h, i) => {
      const problem = reached[i]
      connect.push({what: `host ${h.name}${h.name === h.address ? '' : ` (${h.address})`}`, ok: problem === null, detail: problem ?? 'accepts connections'})
    })
    // every gate's query, once, for the version running now (and stable, where a check has a baseline)
    const {probeSources} = await import('../adapters/metrics/connect.js')
    const previousVersion = (await currentVersion(ctx.store)) ?? undefined
    for (const p of await probeSources(ctx.config, {previousVersion, signal: AbortSignal.timeout(15_000)})) {
      const what = `gate ${p.check} (${p.source}, ${p.cohort} ${p.version})`
      const value = p.value === null ? 'no data now' : `${p.value}${p.samples === null ? '' : ` over ${p.samples} samples`}`
      connect.push({what, ok: p.ok, detail: p.ok ? `${value}${p.query ? ` — ${p.query}` : ''}` : `${p.error ?? 'failed'}${p.query ? ` — ${p.query}` : ''}`})
    }
    // peers' words reach a terminal: secrets masked, escapes shown as text
    result.connect = connect.map((c) => ({...c, detail: shown(c.detail)}))
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
