// Where a deploy attempt's full output goes; the journal keeps only its last
// lines. The services layer gives the driver a file-backed sink
// (src/adapters/deploy/log-files.ts); without one, only the tail is kept.
import type {Host} from '../config/model.js'

export interface DeployLog {
  /** shown in the journal and in messages: a path, or another place to look */
  readonly where: string
  write(line: string): void
  /** flushes; never throws */
  close(): Promise<void>
}

export interface DeployLogs {
  /** `attempt` counts every deploy of the host in this run, from 1 */
  open(host: Host, attempt: number): DeployLog
}
