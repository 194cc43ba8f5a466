// The HAProxy gateway. gray owns a configuration fragment (a frontend for the
// service and its stable and gray backends) and a state map beside it. A
// publish writes both files (so a reload or restart keeps the policy), then:
//  - when only the state changes (weight, rules on/off, tag on/off, revision),
//    swaps the map's entries atomically through the Runtime API
//    (prepare map / add map / commit map): no reload, effective on the next request;
//  - when the layout changes (hosts join, other rules), checks the fragment
//    with `test`, puts the previous files back if HAProxy rejects it, and
//    reloads (hitless in master-worker mode).
// Either way it resolves once HAProxy itself answers, on the Runtime API, with
// the new revision and the new layout.
import {readFile, rm} from 'node:fs/promises'
import type {HaproxyGatewayConfig} from '../../../core/config/model.js'
import {ConfigError, errorMessage, GatewayError} from '../../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {writeAtomic} from '../../../state/files.js'
import {gatewayCapabilities} from '../capabilities.js'
import {fileIo, runCommand, type CommandResult} from '../file-gateway.js'
import {nginxSaid} from '../nginx/index.js'
import {assertPublishesFor, pause} from '../retry.js'
import {
  appliedOf,
  assertPlainPath,
  layoutId,
  layoutOf,
  namesFor,
  parseLayout,
  renderFragment,
  renderStateMap,
  stateMapPath,
  stateOf,
  type Names,
  type StateEntries,
} from './render.js'
import {parseShowMap, RuntimeApiError, runtimeCommand} from './runtime.js'

export interface HaproxyTimings {
  commandTimeoutMs: number
  confirmTimeoutMs: number
  confirmIntervalMs: number
  /** one Runtime API command */
  readTimeoutMs: number
}

const DEFAULT_TIMINGS: HaproxyTimings = {commandTimeoutMs: 30_000, confirmTimeoutMs: 15_000, confirmIntervalMs: 25, readTimeoutMs: 2000}

interface Loaded {
  /** null: HAProxy runs without gray's state map (the fragment is not loaded) */
  applied: AppliedPolicy | null
  entries: Map<string, string>
  layout: string | null
}

export class HaproxyGateway implements Gateway {
  readonly type = 'haproxy'
  readonly mapPath: string
  private readonly names: Names
  private readonly timings: HaproxyTimings

  constructor(
    private readonly config: HaproxyGatewayConfig,
    private readonly service: string,
    timings: Partial<HaproxyTimings> = {},
  ) {
    if (config.test.length === 0 || config.reload.length === 0) {
      throw new ConfigError('gateway.test and gateway.reload: must each be a command (argv list)', 'for example: test: [haproxy, -c, -f, /etc/haproxy/haproxy.cfg, -f, FRAGMENT] and reload: [systemctl, reload, haproxy]')
    }
    this.mapPath = stateMapPath(config.fragment)
    try {
      assertPlainPath(this.mapPath, 'gateway.fragment')
    } catch (error) {
      throw new ConfigError(`gateway.fragment: ${errorMessage(error)}`, 'for example: fragment: /etc/haproxy/gray/checkout.cfg')
    }
    this.names = namesFor(service)
    this.timings = {...DEFAULT_TIMINGS, ...timings}
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('haproxy')
  }

  /** The fragment, followed by the state map as comments (write it to the map path before HAProxy's first start). */
  render(policy: Policy): string {
    const fragment = renderFragment(this.service, layoutOf(policy, this.config.bind, null), this.mapPath)
    const map = renderStateMap(stateOf(policy))
    return `${fragment}${STATE_COMMENT}${this.mapPath}:\n${map
      .trimEnd()
      .split('\n')
      .map((line) => `#   ${line}`)
      .join('\n')}\n`
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const state = stateOf(policy)
    const previousFragment = await this.io(() => readText(this.config.fragment), 'read', this.config.fragment)
    const previousMap = await this.io(() => readText(this.mapPath), 'read', this.mapPath)
    const layout = layoutOf(policy, this.config.bind, parseLayout(previousFragment))
    const fragment = renderFragment(this.service, layout, this.mapPath)
    const id = layoutId(layout)
    const mapText = renderStateMap(state)

    const loaded = await this.loaded(signal)
    if (loaded.layout === id && withoutStateComment(previousFragment) === fragment) {
      if (sameState(loaded.entries, state)) {
        if (previousMap !== mapText) await this.io(() => writeAtomic(this.mapPath, mapText, {mode: 0o644, durable: true}), 'write', this.mapPath)
        return loaded.applied as AppliedPolicy
      }
      // the file first: a reload or restart that comes in between loads the new state, never the old
      await this.io(() => writeAtomic(this.mapPath, mapText, {mode: 0o644, durable: true}), 'write', this.mapPath)
      await this.swapState(state, signal)
      return this.awaitServed(policy.revision, id, state, signal)
    }

    await this.io(() => writeAtomic(this.mapPath, mapText, {mode: 0o644, durable: true}), 'write', this.mapPath)
    await this.io(() => writeAtomic(this.config.fragment, fragment, {mode: 0o644, durable: true}), 'write', this.config.fragment)
    const test = await this.run(this.config.test, signal)
    if (!test.ok) {
      await this.io(() => restore(this.config.fragment, previousFragment), 'put back', this.config.fragment)
      await this.io(() => restore(this.mapPath, previousMap), 'put back', this.mapPath)
      throw new GatewayError(`HAProxy rejected revision ${policy.revision} of the ${this.service} policy, so gray put the previous ${this.config.fragment} back: ${test.said}`, {
        permanent: !test.notRun,
      })
    }
    // the old process keeps serving the keep-alive connections it holds for one
    // more request each: give it the new state first, so those follow the new weight
    if (loaded.applied) await this.swapState(state, signal).catch(() => undefined)
    const reload = await this.run(this.config.reload, signal)
    if (!reload.ok) {
      throw new GatewayError(`HAProxy did not reload for revision ${policy.revision} of the ${this.service} policy (${reload.said}); check that HAProxy is running.`)
    }
    return this.awaitServed(policy.revision, id, state, signal)
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const loaded = await this.loaded(signal)
    if (loaded.applied) return loaded.applied
    if ((await this.io(() => readText(this.config.fragment), 'read', this.config.fragment)) === null) return null
    throw new GatewayError(
      `HAProxy is not running gray's fragment for ${this.service}: ${this.config.socket} knows no map ${this.mapPath}; load ${this.config.fragment} with its own -f and reload.`,
    )
  }

  /** What the process answering on the Runtime API has loaded: the state map's entries and the layout marker. */
  private async loaded(signal?: AbortSignal): Promise<Loaded> {
    // one line, so one process answers both
    const answer = await this.command(`show map ${this.mapPath};show backend`, signal)
    const unknown = /Unknown map identifier/i.test(answer)
    const entries = unknown ? new Map<string, string>() : parseShowMap(answer)
    const backends = answer.split('\n').filter((line) => line.startsWith(this.names.layoutPrefix))
    const layout = backends.length === 1 ? (backends[0] as string).slice(this.names.layoutPrefix.length) : null
    return {applied: unknown ? null : appliedOf(entries), entries, layout}
  }

  /** Replaces every entry of the map at once: a request sees the old state or the new, never half. */
  private async swapState(state: StateEntries, signal?: AbortSignal): Promise<void> {
    const prepared = await this.command(`prepare map ${this.mapPath}`, signal)
    const version = /New version created: (\d+)/.exec(prepared)?.[1]
    if (!version) throw new GatewayError(`HAProxy did not prepare a new version of ${this.mapPath}: ${said(prepared)}`)
    const adds = Object.entries(state).map(([key, value]) => `add map @${version} ${this.mapPath} ${key} ${value}`)
    const answer = await this.command([...adds, `commit map @${version} ${this.mapPath}`].join(';'), signal)
    if (answer.trim() !== '') throw new GatewayError(`HAProxy refused the new state of ${this.mapPath}: ${said(answer)}`)
  }

  private async awaitServed(revision: string, id: string, state: StateEntries, signal?: AbortSignal): Promise<AppliedPolicy> {
    const deadline = Date.now() + this.timings.confirmTimeoutMs
    let last = 'nothing'
    for (;;) {
      try {
        const loaded = await this.loaded(signal)
        if (loaded.layout === id && sameState(loaded.entries, state) && loaded.applied) return loaded.applied
        last = loaded.layout !== id ? `another layout (${loaded.layout ?? 'none'})` : `revision ${loaded.applied?.revision ?? 'none'}`
      } catch (error) {
        if (error instanceof GatewayError && error.permanent) throw error
        last = errorMessage(error)
      }
      if (signal?.aborted) throw new GatewayError(`Publishing revision ${revision} to HAProxy was cancelled before HAProxy confirmed it.`)
      if (Date.now() >= deadline) {
        throw new GatewayError(`HAProxy still serves ${last} ${this.timings.confirmTimeoutMs / 1000} s after gray published revision ${revision}; check HAProxy's log.`)
      }
      await pause(this.timings.confirmIntervalMs, signal)
    }
  }

  private async command(line: string, signal?: AbortSignal): Promise<string> {
    let answer: string
    try {
      answer = await runtimeCommand(this.config.socket, line, this.timings.readTimeoutMs, signal)
    } catch (error) {
      const code = error instanceof RuntimeApiError ? error.code : undefined
      const hint = code === 'EACCES' ? 'gray may not open it' : 'check that HAProxy runs with `stats socket ... level admin` there'
      throw new GatewayError(`HAProxy's Runtime API did not answer on ${this.config.socket} (${errorMessage(error)}); ${hint}.`, {cause: error})
    }
    if (/Permission denied|Unknown command/i.test(answer)) {
      throw new GatewayError(`HAProxy's Runtime API on ${this.config.socket} refused \`${line.split(' ').slice(0, 2).join(' ')}\` (${said(answer)}); give the stats socket \`level admin\`.`, {permanent: true})
    }
    return answer
  }

  private async run(argv: string[], signal?: AbortSignal): Promise<CommandResult> {
    return runCommand(argv, this.timings.commandTimeoutMs, haproxySaid, signal)
  }

  private async io<T>(action: () => Promise<T>, verb: string, path: string): Promise<T> {
    return fileIo(action, verb, path)
  }
}

const STATE_COMMENT = '# state map '

/** A fragment as render() prints it ends with the state map as comments; the file gray writes does not. */
function withoutStateComment(text: string | null): string | null {
  if (text === null) return null
  const at = text.lastIndexOf(`\n${STATE_COMMENT}`)
  return at < 0 ? text : text.slice(0, at + 1)
}

function sameState(entries: Map<string, string>, state: StateEntries): boolean {
  // a seed left from another run counts too: no seed means no entry
  return Object.entries(state).every(([key, value]) => entries.get(key) === value) && entries.get('seed') === state.seed
}

/** HAProxy's own words: its [ALERT] lines, else the last line. */
export function haproxySaid(output: string): string {
  const alerts = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /\[(ALERT|EMERG)\]/.test(line) && !/Fatal errors found|Error\(s\) found/.test(line))
    .map((line) => line.replace(/^\[(ALERT|EMERG)\]\s*\(\d+\)\s*:\s*/, ''))
  return alerts.length > 0 ? alerts.slice(0, 3).join('; ') : nginxSaid(output)
}

function said(answer: string): string {
  return answer.trim().replace(/\s+/g, ' ').slice(0, 200) || 'no answer'
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

async function restore(path: string, previous: string | null): Promise<void> {
  if (previous === null) await rm(path, {force: true})
  else await writeAtomic(path, previous, {mode: 0o644, durable: true})
}
