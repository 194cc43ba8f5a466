// Runs a hook's argv through execa (never a shell), with the run's GRAY_*
// variables in its environment and its last lines kept for the journal.
import {execa} from 'execa'

import {errorMessage} from '../../core/errors.js'
import {hookEnvironment, type HookContext, type HookResult, type HookRunner, type HookStage} from '../../core/hooks.js'
import {fillArgv} from '../../core/template.js'
import {formatDuration} from '../deploy/duration.js'

const TAIL_LINES = 20

export class CommandHookRunner implements HookRunner {
  async run(stage: HookStage, argv: string[], ctx: HookContext, options: {timeoutMs: number; signal?: AbortSignal}): Promise<HookResult> {
    const started = performance.now()
    const tail: string[] = []
    const done = (result: Omit<HookResult, 'outputTail' | 'durationMs'>): HookResult => ({...result, outputTail: [...tail], durationMs: Math.round(performance.now() - started)})
    let filled: string[]
    try {
      filled = fillArgv(argv, {version: ctx.version, previousVersion: ctx.previousVersion ?? undefined, service: ctx.service})
    } catch (error) {
      return done({ok: false, exitCode: null, error: `could not start: ${errorMessage(error)}`})
    }
    const [file = '', ...args] = filled
    const keep = function* (line: unknown) {
      const text = String(line)
      tail.push(text.length > 1000 ? `${text.slice(0, 1000)}… (${text.length - 1000} more characters)` : text)
      if (tail.length > TAIL_LINES) tail.shift()
      yield line
    }
    const result = await execa(file, args, {
      shell: false,
      // its own process group: a Ctrl-C at gray's terminal must not kill a deploy or hook halfway
      detached: true,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      stdin: 'ignore',
      stdout: keep,
      stderr: keep,
      reject: false,
      env: hookEnvironment(stage, ctx),
    })
    if (!result.failed) return done({ok: true, exitCode: 0})
    const code = (result as {code?: string}).code
    let error: string
    if (result.isCanceled) error = 'was cancelled'
    else if (result.timedOut) error = `timed out after ${formatDuration(options.timeoutMs)}`
    else if (code === 'ENOENT') error = `failed: command not found: ${file}`
    else if (result.exitCode !== undefined) error = `failed with exit code ${result.exitCode}`
    else if (result.signal) error = `was killed by ${result.signal}`
    else error = `failed: ${code ?? 'unknown error'}`
    return done({ok: false, exitCode: result.exitCode ?? null, error})
  }
}
