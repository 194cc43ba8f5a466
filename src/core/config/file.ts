// Reading gray.yaml from disk: size limit, YAML with duplicate keys as errors
// (line:col), alias and nesting limits. No schema here, so read-only commands
// can use it without loading one.
import {constants} from 'node:fs'
import {open} from 'node:fs/promises'
import path from 'node:path'
import {LineCounter, parseDocument} from 'yaml'

import type {ConfigError} from '../errors.js'
import {InvalidConfigError, problem} from './problems.js'

/** a gray.yaml is a page or two; anything this big is a mistake (or an attack on the parser) */
const MAX_CONFIG_BYTES = 1024 * 1024

/** The parsed YAML of a config file, before ${VAR} and the schema. */
export async function readConfigFile(file: string): Promise<unknown> {
  const absolute = path.resolve(file)
  let text: string
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it (and devices like /dev/zero)
    const handle = await open(absolute, constants.O_RDONLY | constants.O_NONBLOCK)
    try {
      const info = await handle.stat()
      if (info.isDirectory()) throw Object.assign(new Error('a directory'), {code: 'EISDIR'})
      if (!info.isFile()) {
        const what = info.isFIFO() ? 'a FIFO' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : info.isSocket() ? 'a socket' : 'not a regular file'
        throw new InvalidConfigError([problem(file, 'must be a regular file', what)], 'pass -c with the path of gray.yaml itself')
      }
      if (info.size > MAX_CONFIG_BYTES) {
        throw new InvalidConfigError([problem(file, 'must be a gray config of at most 1 MiB', `${(info.size / 1024 / 1024).toFixed(1)} MiB`)])
      }
      // at most the limit and one byte more, whatever the size said: a file growing while read is refused too
      const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1)
      let read = 0
      for (;;) {
        const {bytesRead} = await handle.read(buffer, read, buffer.length - read, read)
        if (bytesRead === 0) break
        read += bytesRead
        if (read > MAX_CONFIG_BYTES) throw new InvalidConfigError([problem(file, 'must be a gray config of at most 1 MiB', 'more')])
      }
      text = buffer.subarray(0, read).toString('utf8')
    } finally {
      await handle.close()
    }
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error
    throw unreadable(file, absolute, error)
  }
  return parseYaml(text, file)
}

function parseYaml(text: string, file: string): unknown {
  const lines = new LineCounter()
  const doc = parseDocument(text, {uniqueKeys: true, prettyErrors: false, lineCounter: lines})
  const [error] = doc.errors
  if (error) {
    const {line, col} = lines.linePos(error.pos[0])
    const at = `${file}:${line}:${col}`
    if (error.code === 'DUPLICATE_KEY') {
      const key = keyAt(text, error.pos[0])
      throw new InvalidConfigError([problem(at, 'must not repeat a key', key ? `${JSON.stringify(key)} a second time` : 'a key a second time')])
    }
    if (error.code === 'MULTIPLE_DOCS') throw new InvalidConfigError([problem(at, 'must hold one YAML document', 'a second one after ---')])
    throw new InvalidConfigError([problem(at, 'must be valid YAML', /call stack/i.test(error.message) ? 'nesting too deep to read' : firstLine(error.message))])
  }
  try {
    return doc.toJS({maxAliasCount: 100})
  } catch (cause) {
    throw new InvalidConfigError([problem(file, 'must be valid YAML', firstLine(cause instanceof Error ? cause.message : String(cause)))])
  }
}

function keyAt(text: string, offset: number): string | undefined {
  const rest = text.slice(offset).split('\n')[0] ?? ''
  const match = /^\s*(?:"([^"]*)"|'([^']*)'|([^:#{},[\]]+?))\s*:/.exec(rest)
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim()
}

function unreadable(file: string, absolute: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code
  const shown = file === absolute ? absolute : `${file} (${absolute})`
  if (code === 'ENOENT') {
    return new InvalidConfigError([problem(shown, 'must be a gray config file', 'no such file')], 'run "gray init" to write one, or pass -c FILE (or set GRAY_CONFIG)')
  }
  if (code === 'EISDIR') return new InvalidConfigError([problem(shown, 'must be a file', 'a directory')], 'pass -c with the path of gray.yaml itself')
  return new InvalidConfigError([problem(shown, 'must be readable', code ?? 'an error')])
}
