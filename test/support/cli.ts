// Runs the built CLI (bin/run.js) as a user would: a real process, no TTY.
import {execa, type ResultPromise} from 'execa'
import path from 'node:path'

export const BIN = path.resolve('bin/run.js')

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export function gray(args: string[], options: {cwd?: string; env?: Record<string, string>; timeoutMs?: number} = {}): ResultPromise<{reject: false}> {
  return execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: {CI: '1', NO_COLOR: '1', ...options.env},
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    stdin: 'ignore',
  }) as ResultPromise<{reject: false}>
}

export async function run(args: string[], options: Parameters<typeof gray>[1] = {}): Promise<CliResult> {
  const r = await gray(args, options)
  return {exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr)}
}
