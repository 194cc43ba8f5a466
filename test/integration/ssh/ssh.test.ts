// deploy.ssh against a real OpenSSH server started by the test on 127.0.0.1.
// Skipped when sshd is missing, unless CI is set (then the missing server fails).
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CommandDeployer} from '../../../src/adapters/deploy/command.js'
import type {SshOptions} from '../../../src/core/config/model.js'
import {DeployError} from '../../../src/core/errors.js'
import {SSHD, startSshd, type Sshd} from './sshd.js'

// with CI set, a missing sshd fails in beforeAll instead of skipping
const run = Boolean(SSHD) || Boolean(process.env.CI)
const printArgv = 'console.log(JSON.stringify(process.argv.slice(1)))'
const host = {name: '127.0.0.1:8080', address: '127.0.0.1:8080'}

describe.runIf(run)('deploy over ssh (real sshd)', () => {
  let sshd: Sshd

  beforeAll(async () => {
    sshd = await startSshd()
  }, 30_000)
  afterAll(async () => {
    await sshd?.stop()
  })

  const options = (extra: Partial<SshOptions> = {}): SshOptions => ({
    user: sshd.user,
    port: sshd.port,
    identityFile: sshd.identityFile,
    knownHosts: 'strict',
    knownHostsFile: sshd.knownHostsFile,
    connectTimeoutMs: 5000,
    ...extra,
  })
  const deployer = (command: string[], ssh: SshOptions) => new CommandDeployer({type: 'command', command, concurrency: 1, timeoutMs: 20_000, retries: 0, ssh})
  const request = {host, version: 'v2', previousVersion: 'v1', service: 'checkout'}
  /** the line node printed on the remote side (a login shell's rc files may print other lines) */
  const remoteArgv = (tail: string[]) => JSON.parse(tail.findLast((line) => line.startsWith('[')) ?? 'null') as string[]

  async function deployError(promise: Promise<unknown>): Promise<DeployError> {
    const error = await promise.then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(DeployError)
    return error as DeployError
  }

  it('runs the remote argv with placeholders filled, every element one literal argument', async () => {
    const probe = join(sshd.markers, 'probe')
    const harmless = ['deploy {version}', `; touch ${probe}`, `$(touch ${probe})`, "it's", '$HOME `id`', 'a  b', '*']
    const first = await deployer([process.execPath, '-e', printArgv, ...harmless], options()).deploy(request)
    expect(remoteArgv(first.outputTail)).toEqual(['deploy v2', ...harmless.slice(1)])
    expect(await readdir(sshd.markers)).toEqual([])

    // only once harmless words are known to arrive intact (and with a harmless rm first in the remote PATH)
    const result = await deployer([process.execPath, '-e', printArgv, '; rm -rf /', '{host.name}'], options()).deploy(request)
    expect(remoteArgv(result.outputTail)).toEqual(['; rm -rf /', '127.0.0.1:8080'])
    expect(await readdir(sshd.markers)).toEqual([])
  })

  it('passes the remote exit code through as a failed deploy with the output tail', async () => {
    const error = await deployError(deployer(['sh', '-c', 'echo "migrating {version}"; echo "disk full" >&2; exit 3'], options()).deploy(request))
    expect(error.message).toBe('deploy of v2 to 127.0.0.1:8080 failed with exit code 3')
    expect(error.outputTail).toContain('migrating v2')
    expect(error.outputTail).toContain('disk full')
  })

  it('refuses a host whose key is not known when knownHosts is strict (never prompts)', async () => {
    const empty = join(sshd.dir, 'empty_known_hosts')
    await writeFile(empty, '')
    const error = await deployError(deployer(['true'], options({knownHostsFile: empty})).deploy(request))
    expect(error.message).toMatch(/exit code 255 \(ssh could not connect/)
    expect(error.outputTail.join('\n')).toMatch(/Host key verification failed/)
  })

  it('learns a new host key with accept-new, and connects with off', async () => {
    const learnt = join(sshd.dir, 'learnt_known_hosts')
    await writeFile(learnt, '')
    await deployer(['true'], options({knownHosts: 'accept-new', knownHostsFile: learnt})).deploy(request)
    const hostKey = (await readFile(join(sshd.dir, 'host_key.pub'), 'utf8')).split(' ')[1] as string
    expect(await readFile(learnt, 'utf8')).toContain(hostKey)
    // what was learnt is what strict checking now accepts
    await deployer(['true'], options({knownHosts: 'strict', knownHostsFile: learnt})).deploy(request)
    const result = await deployer(['echo', 'ok {version}'], options({knownHosts: 'off', knownHostsFile: undefined})).deploy(request)
    expect(result.outputTail.at(-1)).toBe('ok v2')
  })

  it('fails without prompting when the key is not authorized (BatchMode)', async () => {
    const error = await deployError(deployer(['true'], options({identityFile: join(sshd.dir, 'host_key')})).deploy(request))
    expect(error.outputTail.join('\n')).toMatch(/Permission denied/)
  })
})

