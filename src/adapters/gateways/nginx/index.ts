// The nginx gateway: gray owns one include file for http {}. Publishing writes
// it atomically, checks it with the `test` command (putting the previous file
// back when nginx rejects it), reloads, and waits until nginx itself answers
// with the new revision on the status socket the file declares.
import {constants} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import type {NginxGatewayConfig} from '../../../core/config/model.js'
import {ConfigError, errorMessage, GatewayError} from '../../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../../core/ports.js'
import {gatewayCapabilities} from '../capabilities.js'
import {fileIo, runCommand, type CommandResult} from '../file-gateway.js'
import {assertPublishesFor, pause} from '../retry.js'
import {readInclude, replaceInclude, restoreInclude} from './include-file.js'
import {renderInclude} from './render.js'
import {askServed} from './served.js'
import {acceptingWorkers, OLD_WORKER_GRACE_MS, oldWorkersAccepting} from './workers.js'

export interface NginxTimings {
  /** how long the test and reload commands may run */
  commandTimeoutMs: number
  /** how long to wait for nginx to serve a new revision after reload */
  confirmTimeoutMs: number
  /** pause between read-backs while waiting */
  confirmIntervalMs: number
  /** one read-back over the status socket */
  readTimeoutMs: number
}

const DEFAULT_TIMINGS: NginxTimings = {commandTimeoutMs: 30_000, confirmTimeoutMs: 15_000, confirmIntervalMs: 25, readTimeoutMs: 2000}
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/
const SOCKET_PATH_MAX = 107

/** Where nginx answers which policy it loaded: a dotfile next to the include, so `include gray/*` globs skip it. */
export function statusSocketPath(include: string): string {
  const file = resolve(include)
  return join(dirname(file), `.${basename(file).replace(/\.conf$/, '')}.gray.sock`)
}

export class NginxGateway implements Gateway {
  readonly type = 'nginx'
  readonly statusSocket: string
  private readonly timings: NginxTimings

  constructor(
    private readonly config: NginxGatewayConfig,
    private readonly service: string,
    timings: Partial<NginxTimings> = {},
  ) {
    if (!VARIABLE.test(config.variable)) {
      throw new ConfigError(`gateway.variable: must be an nginx variable name (letters, digits, _), got "${config.variable}"`, 'for example: variable: gray_checkout_upstream')
    }
    if (config.test.length === 0 || config.reload.length === 0) {
      throw new ConfigError('gateway.test and gateway.reload: must each be a command (argv list)', 'for example: test: [nginx, -t] and reload: [nginx, -s, reload]')
    }
    this.statusSocket = statusSocketPath(config.include)
    if (Buffer.byteLength(this.statusSocket) > SOCKET_PATH_MAX) {
      throw new ConfigError(`gateway.include: the path is too long for the status socket gray puts next to it (${this.statusSocket})`, 'use a shorter directory for the include file')
    }
    this.timings = {...DEFAULT_TIMINGS, ...timings}
  }

  capabilities(): GatewayCapabilities {
    return gatewayCapabilities('nginx')
  }

  render(policy: Policy): string {
    return renderInclude(policy, {variable: this.config.variable, statusSocket: this.statusSocket})
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    assertPublishesFor(policy, this.service)
    const text = this.render(policy)
    const include = this.config.include
    const previous = await this.io(() => readInclude(include), 'read')
    if (previous === text) {
      const served = await this.readBack(signal).catch(() => null)
      if (served?.revision === policy.revision) return served
    }

    await this.io(() => replaceInclude(include, text), 'write')
    const test = await this.run(this.config.test, signal)
    if (!test.ok) {
      await this.io(() => restoreInclude(include, previous), 'put back')
      throw new GatewayError(
        `nginx rejected revision ${policy.revision} of the ${this.service} policy, so gray put the previous ${include} back: ${test.said}`,
        {permanent: !test.notRun},
      )
    }
    const before = await this.acceptingNow(signal)
    const reload = await this.run(this.config.reload, signal)
    if (!reload.ok) {
      throw new GatewayError(`nginx did not reload for revision ${policy.revision} of the ${this.service} policy (${reload.said}); check that nginx is running.`)
    }
    return this.awaitServed(policy.revision, before, signal)
  }

  /**
   * What a first publish needs: the include's directory (writable), the include itself
   * (nginx will not load a file that does not exist), and nginx answering for it.
   */
  async check(signal?: AbortSignal): Promise<void> {
    const include = resolve(this.config.include)
    const dir = dirname(include)
    const setup = 'see "Setup notes" in docs/gateways.md: write the plain policy there, include it inside http {} and reload nginx'
    const {access, stat} = await import('node:fs/promises')
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false)
    if (!isDir) throw new ConfigError(`gateway.include: the directory ${dir} does not exist, so nginx cannot be loading ${include}`, `create it; then ${setup}`)
    const writable = await access(dir, constants.W_OK).then(() => true, () => false)
    if (!writable) throw new ConfigError(`gateway.include: gray may not write to ${dir}, so it cannot publish ${include}`, 'run gray as a user that may write there, or choose another directory')
    if ((await this.io(() => readInclude(include), 'read')) === null) {
      throw new ConfigError(`gateway.include: ${include} does not exist, so nginx is not serving gray's policy for ${this.service}`, setup)
    }
    await this.readBack(signal)
  }

  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    return (await this.served(signal))?.policy ?? null
  }

  private async served(signal?: AbortSignal): Promise<{policy: AppliedPolicy; worker: number | null} | null> {
    let answer
    try {
      answer = await askServed(this.statusSocket, this.timings.readTimeoutMs, signal)
    } catch (error) {
      throw new GatewayError(`nginx did not answer on ${this.statusSocket}: ${errorMessage(error)}.`, {cause: error})
    }
    if (answer.kind === 'served') {
      if (answer.service !== this.service) {
        throw new GatewayError(`${this.statusSocket} answers for service "${answer.service}", not "${this.service}"; give each service its own include file.`, {permanent: true})
      }
      return {policy: answer.policy, worker: answer.worker}
    }
    if (answer.kind === 'invalid') {
      throw new GatewayError(`nginx answered on ${this.statusSocket} with something that is not gray's policy status (${answer.body}); give gray's include file a path of its own.`, {permanent: true})
    }
    if ((await this.io(() => readInclude(this.config.include), 'read')) === null) return null
    throw new GatewayError(
      `nginx is not serving gray's policy for ${this.service}: nothing answers on ${this.statusSocket}; check that nginx runs and includes ${this.config.include} inside http {}.`,
    )
  }

  /**
   * Reload is asynchronous: the new workers answer once they run the new file,
   * and the old ones accept connections a little longer.
   */
  private async awaitServed(revision: string, before: number[] | null, signal?: AbortSignal): Promise<AppliedPolicy> {
    const deadline = Date.now() + this.timings.confirmTimeoutMs
    let last: string = 'nothing'
    for (;;) {
      try {
        const served = await this.served(signal)
        if (served?.policy.revision === revision) {
          await this.awaitOldWorkers(served.worker, before, deadline, signal)
          return served.policy
        }
        last = served ? `revision ${served.policy.revision}` : 'nothing'
      } catch (error) {
        if (error instanceof GatewayError && error.permanent) throw error
        last = errorMessage(error)
      }
      if (signal?.aborted) throw new GatewayError(`Publishing revision ${revision} to nginx was cancelled before nginx confirmed it.`)
      if (Date.now() >= deadline) {
        throw new GatewayError(
          `nginx still serves ${last} ${this.timings.confirmTimeoutMs / 1000} s after reloading for revision ${revision}; check nginx's error log.`,
        )
      }
      await pause(this.timings.confirmIntervalMs, signal)
    }
  }

  /** The workers a reload will replace, noted before it; null when nginx does not answer yet or gray cannot see them. */
  private async acceptingNow(signal?: AbortSignal): Promise<number[] | null> {
    const served = await this.served(signal).catch(() => null)
    return served?.worker == null ? null : acceptingWorkers(served.worker)
  }

  private async awaitOldWorkers(worker: number | null, before: number[] | null, deadline: number, signal?: AbortSignal): Promise<void> {
    const started = Date.now()
    for (;;) {
      const old = worker === null ? null : await oldWorkersAccepting(worker, before)
      if (old === null) {
        // cannot see the workers: wait out the master's pause before it stops the old ones
        await pause(Math.max(0, started + OLD_WORKER_GRACE_MS - Date.now()), signal)
        return
      }
      if (old.length === 0 || signal?.aborted) return
      if (Date.now() >= deadline) {
        throw new GatewayError(`nginx loaded the new policy, but its old workers (pids ${old.join(', ')}) still accept connections; check nginx's error log.`)
      }
      await pause(this.timings.confirmIntervalMs, signal)
    }
  }

  private async run(argv: string[], signal?: AbortSignal): Promise<CommandResult> {
    return runCommand(argv, this.timings.commandTimeoutMs, nginxSaid, signal)
  }

  private async io<T>(action: () => Promise<T>, verb: string): Promise<T> {
    return fileIo(action, verb, this.config.include)
  }
}

/** nginx's own words: its [emerg]/[alert]/[error] lines, else its last line. */
export function nginxSaid(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  const problems = lines.filter((line) => /\[(emerg|alert|crit|error)\]/.test(line))
  return (problems.length > 0 ? problems : lines.slice(-1)).join('; ')
}
