import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {FileDeployLogs, logFileName} from '../../../src/adapters/deploy/log-files.js'
import {runAdapters} from '../../../src/adapters/deploy/run-adapters.js'
import {CommandHookRunner} from '../../../src/adapters/hooks/command.js'
import type {HookContext} from '../../../src/core/hooks.js'

const node = process.execPath
const ctx: HookContext = {service: 'checkout', runId: 'r-1', version: 'v2', previousVersion: 'v1', step: 1, weight: 10, hosts: ['web-1', 'web-2']}

describe('CommandHookRunner', () => {
  const runner = new CommandHookRunner()

  it('runs the argv with placeholders filled and the run’s variables in its environment', async () => {
    const script = 'console.log(process.argv[1]); for (const k of ["GRAY_HOOK","GRAY_SERVICE","GRAY_RUN_ID","GRAY_VERSION","GRAY_PREVIOUS_VERSION","GRAY_STEP","GRAY_WEIGHT","GRAY_HOSTS"]) console.log(k + "=" + process.env[k])'
    const result = await runner.run('beforeTraffic', [node, '-e', script, '{service}@{version} from {previousVersion}; $(id)'], ctx, {timeoutMs: 10_000})
    expect(result).toMatchObject({ok: true, exitCode: 0})
    expect(result.outputTail).toEqual([
      'checkout@v2 from v1; $(id)',
      'GRAY_HOOK=beforeTraffic',
      'GRAY_SERVICE=checkout',
      'GRAY_RUN_ID=r-1',
      'GRAY_VERSION=v2',
      'GRAY_PREVIOUS_VERSION=v1',
      'GRAY_STEP=2',
      'GRAY_WEIGHT=10',
      'GRAY_HOSTS=web-1,web-2',
    ])
  })

  it('reports a failure with its exit code and last lines, never throwing', async () => {
    const result = await runner.run('beforeDeploy', [node, '-e', 'console.error("no capacity"); process.exit(4)'], ctx, {timeoutMs: 10_000})
    expect(result).toMatchObject({ok: false, exitCode: 4, error: 'failed with exit code 4', outputTail: ['no capacity']})
    const missing = await runner.run('afterDeploy', ['gray-no-such-hook'], ctx, {timeoutMs: 10_000})
    expect(missing).toMatchObject({ok: false, error: 'failed: command not found: gray-no-such-hook'})
    const slow = await runner.run('afterDeploy', [node, '-e', 'setTimeout(() => {}, 30000)'], ctx, {timeoutMs: 200})
    expect(slow).toMatchObject({ok: false, error: 'timed out after 200ms'})
  })

  it('fails before running when {previousVersion} has no value', async () => {
    const result = await runner.run('onRollback', ['echo', '{previousVersion}'], {...ctx, previousVersion: null}, {timeoutMs: 10_000})
    expect(result.ok).toBe(false)
    expect(result.error).toMatch(/could not start: placeholder \{previousVersion\} has no value/)
  })
})

describe('FileDeployLogs', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gray-logs-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('keeps each attempt’s whole output in <dir>/<host>-<attempt>.log', async () => {
    const logs = new FileDeployLogs(join(dir, 'logs', 'run-1'))
    const host = {name: '10.0.0.21:8080', address: '10.0.0.21:8080'}
    for (const attempt of [1, 2]) {
      const log = logs.open(host, attempt)
      for (let i = 1; i <= 500; i++) log.write(`attempt ${attempt} line ${i}`)
      await log.close()
    }
    expect(await readdir(join(dir, 'logs', 'run-1'))).toEqual(['10.0.0.21_8080-1.log', '10.0.0.21_8080-2.log'])
    const text = await readFile(join(dir, 'logs', 'run-1', '10.0.0.21_8080-2.log'), 'utf8')
    expect(text.split('\n')).toHaveLength(501)
    expect(text.startsWith('attempt 2 line 1\n')).toBe(true)
  })

  it('never fails a deploy when the log cannot be written', async () => {
    // a directory that cannot exist: its parent is a file
    await writeFile(join(dir, 'file'), '')
    const logs = new FileDeployLogs(join(dir, 'file', 'logs'))
    const log = logs.open({name: 'web-1', address: 'web-1:80'}, 1)
    log.write('line')
    await expect(log.close()).resolves.toBeUndefined()
  })

  it('names files after hosts safely', () => {
    expect(logFileName({name: '../../etc/passwd', address: 'x:1'}, 3)).toBe('.._.._etc_passwd-3.log')
  })

  it('runAdapters gives the driver its logs under <service dir>/logs/<run> and a hook runner', async () => {
    const adapters = await runAdapters(dir, 'run-7')
    expect((adapters.deployLogs as FileDeployLogs).dir).toBe(join(dir, 'logs', 'run-7'))
    expect(adapters.hooks).toBeInstanceOf(CommandHookRunner)
  })
})
