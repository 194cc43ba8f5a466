// `gray sandbox`: runs the sandbox gateway in the foreground until SIGINT/SIGTERM.
import {startSandbox, type SandboxOptions} from './server.js'

export const SANDBOX_DEFAULTS = {listen: '127.0.0.1:8080', admin: '127.0.0.1:8081'} as const

export interface SandboxRunArgs extends Partial<SandboxOptions> {
  /** where the one JSON line with the two URLs goes (default stdout) */
  print?: (line: string) => void
  /** stops the sandbox like a signal would */
  signal?: AbortSignal
}

/** Starts the sandbox, prints `{"listen": url, "admin": url}` as one line, resolves once stopped. */
export async function runSandbox(args: SandboxRunArgs = {}): Promise<void> {
  const sandbox = await startSandbox({
    listen: args.listen ?? SANDBOX_DEFAULTS.listen,
    admin: args.admin ?? SANDBOX_DEFAULTS.admin,
    stateFile: args.stateFile,
  })
  const print = args.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  print(JSON.stringify({listen: sandbox.listenUrl, admin: sandbox.adminUrl}))
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      args.signal?.removeEventListener('abort', stop)
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    if (args.signal?.aborted) stop()
    else args.signal?.addEventListener('abort', stop, {once: true})
  })
  await sandbox.close()
}
