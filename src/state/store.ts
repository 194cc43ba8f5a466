// Where a service's state lives under `state.dir`:
//   <stateDir>/<service>/runs/<runId>.ndjson   one journal per run
//   <stateDir>/<service>/driver, driver.lock, holder.json, epoch   the driver lock
//   <stateDir>/<service>/inbox/                requests to the live driver
import {randomBytes} from 'node:crypto'
import {readdir} from 'node:fs/promises'
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

  /** only for commands that change things: read-only commands must never create `.gray/` */
  async ensureDirs(): Promise<void> {
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

function assertSafeName(name: string, what: string): void {
  if (!SAFE_NAME.test(name)) {
    throw new ConfigError(`${what} "${name}" may only hold letters, digits, ".", "-" and "_", starting with a letter or digit`)
  }
}
