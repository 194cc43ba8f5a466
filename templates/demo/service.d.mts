// Types for service.mjs, so TypeScript callers (tests, `gray demo`) can run it in-process.
export interface ServiceOptions {
  /** 0 or absent: any free port */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  version: string
  /** default demo */
  service?: string
  /** the `host` in answers; default <service>-<port> */
  name?: string
  /** versions that answer 500 to about 30% of requests */
  failVersions?: string[]
  /** how long /healthz answers 503 during a deploy; default 300 */
  deployMs?: number
}

export interface RunningService {
  port: number
  state(): {version: string; deploying: string | null}
  close(): Promise<void>
}

export function startService(opts: ServiceOptions): Promise<RunningService>
