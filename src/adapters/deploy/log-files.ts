// The full output of every deploy attempt, one file each:
// <service dir>/logs/<run>/<host>-<attempt>.log. Writing a log never fails a deploy.
import {createWriteStream, mkdirSync, type WriteStream} from 'node:fs'
import {join} from 'node:path'

import type {Host} from '../../core/config/model.js'
import {shown} from '../../core/redact.js'
import type {DeployLog, DeployLogs} from '../../core/run/deploy-logs.js'

/** A host name as a file name: anything but letters, digits, . _ - becomes _. */
export function logFileName(host: Host, attempt: number): string {
  return `${host.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${attempt}.log`
}

export class FileDeployLogs implements DeployLogs {
  constructor(readonly dir: string) {}

  open(host: Host, attempt: number): DeployLog {
    const where = join(this.dir, logFileName(host, attempt))
    let stream: WriteStream | null = null
    try {
      mkdirSync(this.dir, {recursive: true, mode: 0o700})
      stream = createWriteStream(where, {flags: 'a', mode: 0o600})
      // a full disk must not fail the deploy; the journal still has the tail
      stream.on('error', () => undefined)
    } catch {
      stream = null
    }
    return {
      where,
      write(line: string) {
        // the door of the log files: secrets masked, terminal controls escaped
        stream?.write(`${shown(line)}\n`)
      },
      close() {
        return new Promise<void>((resolve) => {
          if (!stream || stream.destroyed) return resolve()
          stream.end(() => resolve())
          stream.once('error', () => resolve())
        })
      },
    }
  }
}
