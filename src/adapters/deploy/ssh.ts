// Builds the ssh argv for `deploy.ssh`. ssh joins the remote arguments with
// spaces and hands the result to the remote user's shell, so this is the one
// place gray quotes: every remote argv element becomes one single-quoted word.
import type {Host, KnownHostsPolicy, SshOptions} from '../../core/config/model.js'

/** Characters a POSIX shell never treats specially; such words need no quotes. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/

/** One argument as one word of a POSIX shell (sh, bash, dash, zsh): `it's` → `'it'\''s'`. */
export function shellQuote(arg: string): string {
  if (PLAIN_WORD.test(arg)) return arg
  return `'${arg.replaceAll("'", `'\\''`)}'`
}

/** The remote argv as the one command line ssh sends. */
export function remoteCommandLine(remote: readonly string[]): string {
  return remote.map(shellQuote).join(' ')
}

const STRICTNESS: Record<KnownHostsPolicy, string> = {strict: 'yes', 'accept-new': 'accept-new', off: 'no'}

/** Where ssh connects: the host's name, or the host part of a bare host:port (whose name is its address). */
export function sshDestination(host: Host): string {
  if (host.name !== host.address) return host.name
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(host.address)
  if (bracketed) return bracketed[1] as string
  return host.address.replace(/:\d+$/, '')
}

/** `ssh -o BatchMode=yes … [user@]destination -- <each remote element quoted>` */
export function sshArgv(ssh: SshOptions, host: Host, remote: readonly string[]): string[] {
  const argv = [
    'ssh',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(ssh.connectTimeoutMs / 1000))}`,
    '-o', `StrictHostKeyChecking=${STRICTNESS[ssh.knownHosts]}`,
    // keeps "Permanently added …" notices out of the deploy's output; errors still show
    '-o', 'LogLevel=ERROR',
  ]
  if (ssh.knownHostsFile) argv.push('-o', `UserKnownHostsFile=${ssh.knownHostsFile}`)
  else if (ssh.knownHosts === 'off') argv.push('-o', 'UserKnownHostsFile=/dev/null')
  if (ssh.port !== undefined) argv.push('-p', String(ssh.port))
  if (ssh.identityFile) argv.push('-i', ssh.identityFile, '-o', 'IdentitiesOnly=yes')
  const destination = sshDestination(host)
  argv.push(ssh.user ? `${ssh.user}@${destination}` : destination, '--', remoteCommandLine(remote))
  return argv
}
