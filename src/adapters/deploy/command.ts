// Deploys one host by running the configured argv (never through a shell;
// with deploy.ssh, on the host over ssh), then waits for the host's health check.
import {execa, ExecaError, type Result} from 'execa'

import type {CommandDeploy} from '../../core/config/model.js'
import {DeployError, errorMessage} from '../../core/errors.js'
import type {DeployRequest, DeployResult, Deployer} from '../../core/ports.js'
import {fillArgv, type TemplateVars} from '../../core/template.js'
import {formatDuration} from './duration.js'
import {waitForHealth} from './health.js'
import {sshArgv} from './ssh.js'

const TAIL_LINES = 20

/** characters of one output line the journal keeps (the log file keeps it whole) */
const MAX_TAIL_LINE = 1000

export class CommandDeployer implements Deployer {
  constructor(private readonly config: CommandDeploy) {}

  async deploy(req: DeployRequest): Promise<DeployResult> {
    const started = performance.now()
    const {host, version} = req
    const vars = deployVars(req)
    const tail: string[] = []
    const record = (line: string) => {
      // the journal keeps the tail: a program that prints one endless line must not fill it
      tail.push(line.length > MAX_TAIL_LINE ? `${line.slice(0, MAX_TAIL_LINE)}… (${line.length - MAX_TAIL_LINE} more characters)` : line)
      if (tail.length > TAIL_LINES) tail.shift()
      req.onOutput?.(line)
    }
    const fail = (what: string, cause?: unknown) =>
      new DeployError(`deploy of ${version} to ${host.name} ${what}`, host.name, [...tail], cause)

    let argv: string[]
    try {
      const command = fillArgv(this.config.command, vars)
      argv = this.config.ssh ? sshArgv(this.config.ssh, host, command) : command
    } catch (error) {
      throw fail(`could not start: ${errorMessage(error)}`)
    }
    if (req.signal?.aborted) throw fail('was cancelled')

    const [file = '', ...args] = argv
    const tap = function* (line: unknown) {
      record(String(line))
      yield line
    }
    const result = await execa(file, args, {
      shell: false,
      // its own process group: a Ctrl-C at gray's terminal must not kill a deploy or hook halfway
      detached: true,
      timeout: this.config.timeoutMs,
      cancelSignal: req.signal,
      all: true,
      stdin: 'ignore',
      stdout: tap,
      stderr: tap,
      reject: false,
      env: {
        GRAY_SERVICE: req.service,
        GRAY_VERSION: version,
        GRAY_PREVIOUS_VERSION: req.previousVersion ?? '',
        GRAY_HOST_NAME: host.name,
        GRAY_HOST_ADDRESS: host.address,
      },
    })
    const failure = describeFailure(result, file, this.config.timeoutMs, Boolean(this.config.ssh))
    if (failure) throw fail(failure, execaError(result)?.cause)

    if (this.config.health) {
      try {
        await waitForHealth(host, this.config.health, {signal: req.signal, vars, onOutput: record})
      } catch (error) {
        if (error instanceof DeployError) throw new DeployError(error.message, host.name, [...tail], error.cause)
        throw error
      }
    }
    return {outputTail: [...tail], durationMs: Math.round(performance.now() - started)}
  }
}

function execaError(result: Result): ExecaError | undefined {
  const value: unknown = result
  return value instanceof ExecaError ? value : undefined
}

function deployVars(req: DeployRequest): TemplateVars {
  return {
    version: req.version,
    previousVersion: req.previousVersion,
    service: req.service,
    'host.name': req.host.name,
    'host.address': req.host.address,
  }
}

/** Why the command failed, as the end of a sentence; undefined when it succeeded. */
function describeFailure(result: Result, file: string, timeoutMs: number, overSsh: boolean): string | undefined {
  if (!result.failed) return undefined
  if (result.isCanceled) return 'was cancelled'
  if (result.timedOut) return `timed out after ${formatDuration(timeoutMs)}`
  const error = execaError(result)
  const code = error?.code
  if (code === 'ENOENT') return `failed: command not found: ${file}`
  if (code === 'EACCES') return `failed: permission denied running ${file}`
  if (overSsh && result.exitCode === 255) return 'failed with exit code 255 (ssh could not connect or log in, or the remote command exited 255)'
  if (result.exitCode !== undefined) return `failed with exit code ${result.exitCode}`
  if (result.signal) return `failed: the command was killed by ${result.signal}`
  if (result.isMaxBuffer) return 'failed: the command printed more output than gray keeps'
  return `failed: ${code ?? error?.originalMessage ?? 'unknown error'}`
}
