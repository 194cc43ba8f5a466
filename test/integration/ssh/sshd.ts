// A private OpenSSH server for tests: Debian's sshd on 127.0.0.1 and a free
// port, with a host key, a client key and authorized_keys made for the test.
import {execa, type ResultPromise} from 'execa'
import {existsSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p))

export interface Sshd {
  port: number
  user: string
  dir: string
  /** the client's private key, for ssh -i */
  identityFile: string
  /** a known_hosts file holding the server's host key */
  knownHostsFile: string
  /** a directory whose files only a quoting bug on the remote side could create */
  markers: string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
}

export async function startSshd(): Promise<Sshd> {
  if (!SSHD) throw new Error('sshd is not installed (apt-get install openssh-server)')
  const dir = await mkdtemp(join(tmpdir(), 'gray-sshd-'))
  const keygen = (file: string) => execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gray-test', '-f', join(dir, file)])
  await Promise.all([keygen('host_key'), keygen('client_key')])
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')))

  // the remote shell finds this harmless rm first: a quoting bug leaves a marker, never a deletion
  const markers = join(dir, 'markers')
  const bin = join(dir, 'bin')
  await mkdir(markers)
  await mkdir(bin)
  await writeFile(join(bin, 'rm'), guardedRm(join(markers, 'rm-ran')))
  await chmod(join(bin, 'rm'), 0o755)

  const port = await freePort()
  const user = userInfo().username
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      `AllowUsers ${user}`,
      `SetEnv PATH=${bin}:/usr/local/bin:/usr/bin:/bin`,
      '',
    ].join('\n'),
  )
  const hostKey = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ')
  const knownHostsFile = join(dir, 'known_hosts')
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostKey}\n`)

  // as root, sshd wants its privilege separation directory
  if (process.getuid?.() === 0) await mkdir('/run/sshd', {recursive: true, mode: 0o755})
  const child: ResultPromise = execa(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {reject: false, stdin: 'ignore', cleanup: true})
  const log: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log.join(' ')}`)), 10_000)
    child.stderr?.on('data', (chunk: Buffer) => {
      log.push(String(chunk))
      if (log.join('').includes('Server listening')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void child.then((result) => {
      clearTimeout(timer)
      reject(new Error(`sshd exited (${result.exitCode}): ${log.join(' ')}`))
    })
  })
  return {
    port,
    user,
    dir,
    identityFile: join(dir, 'client_key'),
    knownHostsFile,
    markers,
    async stop() {
      child.kill('SIGTERM')
      await child
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** An rm that refuses `/` (leaving a marker instead) and otherwise is the real one, so login scripts still work. */
export function guardedRm(marker: string): string {
  return `#!/bin/sh\nfor a in "$@"; do [ "$a" = / ] && { touch '${marker}'; exit 0; }; done\nexec /bin/rm "$@"\n`
}
