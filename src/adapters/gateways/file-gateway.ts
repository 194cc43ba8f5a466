// What the gateways that own a configuration file and reload a server (nginx,
// HAProxy) do the same way: run the server's test and reload commands, read and
// write their files, and write IP ranges and one-line text into the configuration.
import ipaddr from 'ipaddr.js'
import {errorMessage, GatewayError} from '../../core/errors.js'

export interface CommandResult {
  ok: boolean
  /** what went wrong, in the server's own words when it said any (`said` of its output) */
  said: string
  /** the command did not run to an exit code (not started, timed out, cancelled) */
  notRun: boolean
}

/** Runs a test or reload command (an argv, never a shell) within `timeoutMs`. */
export async function runCommand(argv: string[], timeoutMs: number, said: (output: string) => string, signal?: AbortSignal): Promise<CommandResult> {
  const {execa} = await import('execa')
  const [file, ...args] = argv as [string, ...string[]]
  const result = await execa(file, args, {reject: false, all: true, stdin: 'ignore', timeout: timeoutMs, forceKillAfterDelay: 2000, cancelSignal: signal})
  if (!result.failed) return {ok: true, said: '', notRun: false}
  const notRun = result.exitCode === undefined && !result.timedOut && !result.isCanceled
  if (notRun) return {ok: false, said: `\`${file}\` could not be started (${result.code ?? result.shortMessage})`, notRun}
  if (result.timedOut) return {ok: false, said: `\`${argv.join(' ')}\` did not finish within ${timeoutMs / 1000} s`, notRun: true}
  if (result.isCanceled) return {ok: false, said: `\`${argv.join(' ')}\` was cancelled`, notRun: true}
  return {ok: false, said: said(String(result.all ?? '')) || `\`${argv.join(' ')}\` exited with code ${result.exitCode}`, notRun}
}

/** A file operation on `path`; its failure becomes a GatewayError saying what to check (permanent when retrying cannot help). */
export async function fileIo<T>(action: () => Promise<T>, verb: string, path: string): Promise<T> {
  try {
    return await action()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new GatewayError(`gray could not ${verb} ${path} (${code ?? errorMessage(error)}); check that the directory exists and gray may write to it.`, {
      permanent: code === 'EACCES' || code === 'EPERM' || code === 'ENOENT',
      cause: error,
    })
  }
}

/** A CIDR as the server's configuration reads it; an IPv4-mapped IPv6 range becomes the IPv4 range, as decide.ts treats it. */
export function configCidr(text: string): string {
  try {
    const [address, bits] = ipaddr.parseCIDR(text.trim())
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return `${(address as ipaddr.IPv6).toIPv4Address().toString()}/${bits - 96}`
    }
    return `${address.toString()}/${bits}`
  } catch {
    throw new GatewayError(`"${oneLine(text)}" is not an IP range such as 10.0.0.0/8; fix the ip rule in gray.yaml.`, {permanent: true})
  }
}

/** Text on one line, for a comment or a message: line breaks become spaces. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}
