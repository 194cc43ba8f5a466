import {execa} from 'execa'
import {chmod, mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {guardedRm} from '../../integration/ssh/sshd.js'
import {remoteCommandLine, shellQuote, sshArgv, sshDestination} from '../../../src/adapters/deploy/ssh.js'
import type {SshOptions} from '../../../src/core/config/model.js'

const printArgv = 'console.log(JSON.stringify(process.argv.slice(1)))'

/**
 * What a real POSIX shell makes of the command line: the argv node receives.
 * `guard` holds a harmless `rm` first in PATH, so a quoting bug can only leave a marker.
 */
async function throughShell(shell: string, remote: string[], guard: string): Promise<string[]> {
  const env = {PATH: `${guard}:${process.env.PATH ?? ''}`}
  const {stdout} = await execa(shell, ['-c', remoteCommandLine([process.execPath, '-e', printArgv, ...remote])], {env})
  return JSON.parse(stdout) as string[]
}

async function fakeRm(dir: string, marker: string): Promise<string> {
  const bin = join(dir, 'bin')
  await mkdir(bin)
  await writeFile(join(bin, 'rm'), guardedRm(marker))
  await chmod(join(bin, 'rm'), 0o755)
  return bin
}

const nasty = [
  '; rm -rf /',
  "it's",
  "''",
  '"double" and \\backslash\\',
  '$HOME ${PATH} $(id) `id`',
  'a  b\tc',
  'line one\nline two',
  '*',
  '~',
  '-n',
  '!event',
  '#not a comment',
  '&& || | > < ( ) { } [ ] ?',
  'ünïcödé ☃',
  '',
]

describe('shellQuote', () => {
  let dir: string
  let out: string
  let guard: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gray-quote-'))
    out = join(dir, 'out')
    await mkdir(out)
    guard = await fakeRm(dir, join(out, 'rm-ran'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('leaves plain words alone and single-quotes everything else', () => {
    expect(shellQuote('deploy')).toBe('deploy')
    expect(shellQuote('/opt/app/deploy.sh')).toBe('/opt/app/deploy.sh')
    expect(shellQuote('v2.1.0+build=7')).toBe('v2.1.0+build=7')
    expect(shellQuote('a b')).toBe("'a b'")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(shellQuote('')).toBe("''")
  })

  it.each(['sh', 'bash'])('makes every element arrive as one literal argument through %s', async (shell) => {
    const marker = join(out, 'pwned')
    const remote = [...nasty, `; touch ${marker}`, `$(touch ${marker})`]
    expect(await throughShell(shell, remote, guard)).toEqual(remote)
    expect(await readdir(out)).toEqual([])
  })
})

describe('sshArgv', () => {
  const base: SshOptions = {knownHosts: 'strict', connectTimeoutMs: 10_000}

  it('builds a batch-mode ssh argv with the remote command as one quoted line after --', () => {
    const argv = sshArgv(
      {...base, user: 'deploy', port: 2222, identityFile: '~/.ssh/gray', knownHosts: 'accept-new', connectTimeoutMs: 4500},
      {name: 'web-1', address: '10.0.0.21:8080'},
      ['sudo', '/opt/app/deploy', 'v2; reboot'],
    )
    expect(argv).toEqual([
      'ssh',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5',
      '-o', 'StrictHostKeyChecking=accept-new',
      '-o', 'LogLevel=ERROR',
      '-p', '2222',
      '-i', '~/.ssh/gray', '-o', 'IdentitiesOnly=yes',
      'deploy@web-1', '--', "sudo /opt/app/deploy 'v2; reboot'",
    ])
  })

  it('never checks host keys with knownHosts: off, and reads a given known_hosts file otherwise', () => {
    const off = sshArgv({...base, knownHosts: 'off'}, {name: 'web-1', address: 'web-1:80'}, ['true'])
    expect(off).toContain('StrictHostKeyChecking=no')
    expect(off).toContain('UserKnownHostsFile=/dev/null')
    const strict = sshArgv({...base, knownHostsFile: '/etc/gray/known_hosts'}, {name: 'web-1', address: 'web-1:80'}, ['true'])
    expect(strict).toContain('StrictHostKeyChecking=yes')
    expect(strict).toContain('UserKnownHostsFile=/etc/gray/known_hosts')
    expect(strict.slice(-3)).toEqual(['web-1', '--', 'true'])
  })

  it('connects to the host name, or to the host part of a bare host:port', () => {
    expect(sshDestination({name: 'web-1', address: '10.0.0.21:8080'})).toBe('web-1')
    expect(sshDestination({name: '10.0.0.21:8080', address: '10.0.0.21:8080'})).toBe('10.0.0.21')
    expect(sshDestination({name: '[2001:db8::1]:8080', address: '[2001:db8::1]:8080'})).toBe('2001:db8::1')
  })
})
