// Reading an inventory: running its argv (never a shell; bounded in time and
// output; its own process group, killed whole at the timeout) or reading its
// file (bounded in size). What it yields is checked in src/core/config/inventory.ts.
import {constants} from 'node:fs'
import {open} from 'node:fs/promises'
import path from 'node:path'
import {parseDocument} from 'yaml'

import type {InventorySource} from '../../core/config/model.js'
import {ConfigError, errorMessage} from '../../core/errors.js'
import {sourceWords} from '../../core/config/inventory.js'
import {shown} from '../../core/redact.js'
import {formatDuration} from '../deploy/duration.js'

/** what an inventory may print or hold: about 100,000 hosts; more is a mistake */
export const MAX_INVENTORY_BYTES = 8 * 1024 * 1024

/** lines of stderr a failure shows */
const STDERR_LINES = 5
const MAX_LINE = 300

export interface ReadOptions {
  /** the directory a relative file path is read from (gray.yaml's) */
  dir: string
  service: string
  signal?: AbortSignal
}

/** The value an inventory gave (JSON from a command; JSON or YAML from a file), before it is checked. */
export async function readInventory(pool: string, source: InventorySource, options: ReadOptions): Promise<unknown> {
  return source.kind === 'command' ? runCommand(pool, source, options) : readFile(pool, source.file, options.dir)
}

async function runCommand(pool: string, source: Extract<InventorySource, {kind: 'command'}>, options: ReadOptions): Promise<unknown> {
  const where = `hosts.${pool}: the inventory ${sourceWords(source)}`
  const [file = '', ...args] = source.command
  // imported here: every command loads this module, few run an inventory command
  const {execa} = await import('execa')
  const child = execa(file, args, {
    shell: false,
    // its own process group, so the timeout ends whatever it started too (a wrapper script's children)
    detached: true,
    stdin: 'ignore',
    reject: false,
    maxBuffer: MAX_INVENTORY_BYTES,
    cancelSignal: options.signal,
    cwd: options.dir,
    env: {GRAY_SERVICE: options.service},
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child.pid)
  }, source.timeoutMs)
  timer.unref()
  const result = await child.finally(() => clearTimeout(timer))
  const stderr = tail(String(result.stderr ?? ''))
  const fail = (what: string) => new ConfigError(`${where} ${what}${stderr ? `: ${stderr}` : ''}`, 'nothing was changed; fix the command (run it by hand to see its output) or list the hosts in gray.yaml')
  if (timedOut) throw fail(`did not finish within ${formatDuration(source.timeoutMs)}`)
  if (result.isMaxBuffer) throw fail(`printed more than ${MAX_INVENTORY_BYTES / 1024 / 1024} MiB`)
  if (result.failed) {
    const code = (result as {code?: string}).code
    if (code === 'ENOENT') throw fail(`could not start: command not found: ${shown(file)}`)
    if (code === 'EACCES') throw fail(`could not start: permission denied running ${shown(file)}`)
    if (result.isCanceled) throw fail('was cancelled')
    if (result.exitCode !== undefined) throw fail(`failed with exit code ${result.exitCode}`)
    if (result.signal) throw fail(`was killed by ${result.signal}`)
    throw fail(`failed: ${code ?? 'unknown error'}`)
  }
  const out = String(result.stdout ?? '')
  try {
    return JSON.parse(out) as unknown
  } catch (error) {
    const found = out.trim() === '' ? 'nothing' : `text that is not JSON (${shown(errorMessage(error)).slice(0, MAX_LINE)})`
    throw new ConfigError(`${where} must print a JSON list of hosts, got ${found}`, 'print a list like ["10.0.0.21:8080", {"name": "web-2", "address": "10.0.0.22:8080"}] on stdout (anything else on stderr)')
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** the last lines of stderr, one line, masked and escaped */
function tail(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-STDERR_LINES)
  return shown(lines.map((l) => (l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l)).join(' | '))
}

async function readFile(pool: string, file: string, dir: string): Promise<unknown> {
  const absolute = path.resolve(dir, file)
  const where = `hosts.${pool}: the inventory file ${shown(file)}`
  let text: string
  try {
    // O_NONBLOCK: a FIFO must not wait for a writer; fstat then refuses it
    const handle = await open(absolute, constants.O_RDONLY | constants.O_NONBLOCK)
    try {
      const info = await handle.stat()
      if (!info.isFile()) throw new ConfigError(`${where} must be a regular file`, 'point file: at a JSON or YAML list of hosts')
      if (info.size > MAX_INVENTORY_BYTES) throw new ConfigError(`${where} must be at most ${MAX_INVENTORY_BYTES / 1024 / 1024} MiB, got ${(info.size / 1024 / 1024).toFixed(1)} MiB`)
      const buffer = Buffer.alloc(Math.min(info.size, MAX_INVENTORY_BYTES) + 1)
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
      if (bytesRead > MAX_INVENTORY_BYTES) throw new ConfigError(`${where} must be at most ${MAX_INVENTORY_BYTES / 1024 / 1024} MiB`)
      text = buffer.subarray(0, bytesRead).toString('utf8')
    } finally {
      await handle.close()
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError(`${where} must be readable, got ${code === 'ENOENT' ? 'no such file' : (code ?? 'an error')}`, `a relative path is read beside gray.yaml (${shown(absolute)})`)
  }
  if (absolute.endsWith('.json')) {
    try {
      return JSON.parse(text) as unknown
    } catch (error) {
      throw new ConfigError(`${where} must be valid JSON, got ${shown(errorMessage(error)).slice(0, MAX_LINE)}`)
    }
  }
  const doc = parseDocument(text, {uniqueKeys: true, prettyErrors: false})
  const [first] = doc.errors
  if (first) throw new ConfigError(`${where} must be valid JSON or YAML, got ${shown(first.message.split('\n')[0] ?? '')}`)
  try {
    return doc.toJS({maxAliasCount: 100}) as unknown
  } catch (error) {
    throw new ConfigError(`${where} must be valid JSON or YAML, got ${shown(errorMessage(error))}`)
  }
}
