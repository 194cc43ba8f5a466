// Where a service's state lives under `state.dir`:
//   <stateDir>/<service>/runs/<runId>.ndjson   one journal per run
//   <stateDir>/<service>/driver, driver.lock, holder.json, epoch   the driver lock
//   <stateDir>/<service>/inbox/                requests to the live driver
import {randomBytes} from 'node:crypto'
import {chmod, readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {ConfigError} from '../core/errors.js'
import {ensurePrivateDir} from './files.js'

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const JOURNAL_EXT = '.ndjson'

/** sortable by time, to the millisecond: 20261122T034500123Z-3fa9c1 */
export function newRunId(now: number | Date = Date.now()): string {
  const time = new Date(now).toISOString().replace(/[-:.]/g, '')
  return `${time}-${randomBytes(3).toString('hex')}`
}

export class ServiceStore {
  /** `<stateDir>/<service>`: the lock and the inbox live here */
  readonly dir: string
  readonly runsDir: string

  constructor(
    readonly stateDir: string,
    readonly service: string,
  ) {
    assertSafeName(service, 'service name')
    this.dir = join(stateDir, service)
    this.runsDir = join(this.dir, 'runs')
  }

  /**
   * Refuses a state directory gray cannot trust, before anything reads or
   * writes there: not a directory (a file, a FIFO), or another user's. One
   * that group or others may write (a .gray at 0777: anyone could plant a
   * journal or a request) is made private (0700), and `warn` says so.
   */
  async trust(warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<void> {
    for (const dir of [this.stateDir, this.dir, this.runsDir, join(this.dir, 'inbox'), join(this.dir, 'logs')]) {
      let info
      try {
        info = await stat(dir)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') continue
        if (code === 'ENOTDIR') throw notADirectory(dir, 'a path through a file')
        throw new ConfigError(`state directory ${dir} cannot be read (${code ?? 'error'})`, 'check state.dir in gray.yaml')
      }
      if (!info.isDirectory()) throw notADirectory(dir, info.isFIFO() ? 'a FIFO' : info.isFile() ? 'a file' : 'not a directory')
      const uid = process.getuid?.()
      if (uid !== undefined && info.uid !== uid && uid !== 0) {
        throw new ConfigError(`state directory ${dir} belongs to another user (uid ${info.uid}); gray keeps journals only in a directory of yours`, 'point state.dir in gray.yaml at a directory you own')
      }
      if ((info.mode & 0o022) !== 0) {
        await chmod(dir, info.mode & 0o700)
        warn(`gray: state directory ${dir} was writable by others (${(info.mode & 0o777).toString(8).padStart(4, '0')}); made it private (${(info.mode & 0o700).toString(8).padStart(4, '0')})`)
      }
    }
  }

  /** only for commands that change things: read-only commands must never create `.gray/` */
  async ensureDirs(): Promise<void> {
    await this.trust()
    await ensurePrivateDir(this.runsDir)
    await ensurePrivateDir(join(this.dir, 'inbox'))
  }

  runPath(runId: string): string {
    assertSafeName(runId, 'run id')
    return join(this.runsDir, `${runId}${JOURNAL_EXT}`)
  }

  /** run ids, oldest first; [] when nothing was recorded (creates nothing) */
  async listRuns(): Promise<string[]> {
    let names: string[]
    try {
      names = await readdir(this.runsDir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }

    return names
      .filter((name) => name.endsWith(JOURNAL_EXT))
      .map((name) => name.slice(0, -JOURNAL_EXT.length))
      .filter((id) => SAFE_NAME.test(id))
      .sort()
  }

  async latestRun(): Promise<string | null> {
    return (await this.listRuns()).at(-1) ?? null
  }
}

function notADirectory(dir: string, found: string): ConfigError {
  return new ConfigError(`state.dir: must be a directory, got ${found} at ${dir}`, 'point state.dir in gray.yaml at a directory (gray creates it when missing)')
}

function assertSafeName(name: string, what: string): void {
  if (!SAFE_NAME.test(name)) {
    throw new ConfigError(`${what} "${name}" may only hold letters, digits, ".", "-" and "_", starting with a letter or digit`)
  }
}
