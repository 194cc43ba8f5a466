import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'

import {CommandDeployer} from '../../../src/adapters/deploy/command.js'
import {demoScript, startDemoServices, type DemoServices} from '../../../src/demo/services.js'
import {startService} from '../../../templates/demo/service.mjs'
import {alive} from '../../support/process.js'

async function get(address: string, path = '/'): Promise<{status: number; body: string}> {
  const response = await fetch(`http://${address}${path}`)
  return {status: response.status, body: await response.text()}
}

/** pids of the demo services this test process started */
async function servicePids(): Promise<number[]> {
  const {stdout} = await execa('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {reject: false})
  return stdout
    .split('\n')
    .filter((line) => line.includes('service.mjs'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('startDemoServices', () => {
  let services: DemoServices | undefined
  afterEach(async () => {
    await services?.stop()
    services = undefined
  })

  it('starts real services that answer with their version and count requests by version', async () => {
    services = await startDemoServices({stable: 2, gray: 1, version: 'v1', service: 'shop'})
    expect(services.stable.map((h) => h.name)).toEqual(['stable-1', 'stable-2'])
    expect(services.gray.map((h) => h.name)).toEqual(['gray-1'])
    const [gray] = services.gray
    const address = gray!.address
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(new Set([...services.stable, ...services.gray].map((h) => h.address)).size).toBe(3)

    expect(JSON.parse((await get(address)).body)).toEqual({service: 'shop', version: 'v1', host: 'gray-1'})
    expect(await get(address, '/healthz')).toEqual({status: 200, body: '{"version":"v1"}'})

    const deploy = await execa(process.execPath, [demoScript('deploy.mjs'), address, 'v2'], {reject: false})
    expect(deploy.exitCode).toBe(0)
    expect(deploy.stdout).toContain(`${address} runs v2`)

    expect(JSON.parse((await get(address, '/checkout')).body)).toMatchObject({version: 'v2'})
    expect(await get(address, '/healthz')).toEqual({status: 200, body: '{"version":"v2"}'})
    const metrics = (await get(address, '/metrics')).body
    expect(metrics).toContain('# TYPE http_requests_total counter')
    // /healthz, /metrics and /admin are not counted
    expect(metrics).toContain('http_requests_total{service="shop",version="v1",code="200"} 1\n')
    expect(metrics).toContain('http_requests_total{service="shop",version="v2",code="200"} 1\n')
  })

  it('is deployed by the command deployer with the demo deploy command and health check', async () => {
    services = await startDemoServices({stable: 1, gray: 1, version: 'v1'})
    const deployer = new CommandDeployer({
      type: 'command',
      command: [process.execPath, demoScript('deploy.mjs'), '{host.address}', '{version}'],
      concurrency: 1,
      timeoutMs: 20_000,
      retries: 0,
      health: {url: 'http://{host.address}/healthz', expect: 200, timeoutMs: 5000, intervalMs: 50},
    })
    const [gray] = services.gray
    const result = await deployer.deploy({host: gray!, version: 'v2', previousVersion: 'v1', service: 'demo'})
    expect(result.outputTail).toContain(`${gray!.address} runs v2`)
    expect(JSON.parse((await get(gray!.address)).body)).toMatchObject({version: 'v2', host: 'gray-1'})
    expect(JSON.parse((await get(services.stable[0]!.address)).body)).toMatchObject({version: 'v1'})
  })

  it('stops every service, and a second stop is harmless', async () => {
    services = await startDemoServices({stable: 1, gray: 1, version: 'v1'})
    const hosts = [...services.stable, ...services.gray]
    const pids = await servicePids()
    expect(pids).toHaveLength(2)
    expect(pids.every(alive)).toBe(true)
    await Promise.all([services.stop(), services.stop()])
    await services.stop()
    expect(pids.some(alive)).toBe(false)
    const answers = await Promise.allSettled(hosts.map((h) => get(h.address, '/healthz')))
    expect(answers.every((a) => a.status === 'rejected')).toBe(true)
  })
})

describe('demo service', () => {
  it('fails about 30% of requests while it runs a failing version', async () => {
    const service = await startService({version: 'v1', failVersions: ['v2'], deployMs: 50})
    const address = `127.0.0.1:${service.port}`
    try {
      const before = await Promise.all(Array.from({length: 20}, () => get(address)))
      expect(before.every((r) => r.status === 200)).toBe(true)

      const deploying = await fetch(`http://${address}/admin/deploy?version=v2`, {method: 'POST'})
      expect(deploying.status).toBe(202)
      expect((await get(address, '/healthz')).status).toBe(503)
      const deploy = await execa(process.execPath, [demoScript('deploy.mjs'), address, 'v2'], {reject: false})
      expect(deploy.exitCode).toBe(0)

      const after = await Promise.all(Array.from({length: 20}, () => get(address)))
      const failed = after.filter((r) => r.status === 500).length
      expect(failed).toBeGreaterThanOrEqual(4)
      expect(failed).toBeLessThanOrEqual(8)
      const metrics = (await get(address, '/metrics')).body
      expect(metrics).toContain(`http_requests_total{service="demo",version="v2",code="500"} ${failed}\n`)
      expect(metrics).toContain(`http_requests_total{service="demo",version="v2",code="200"} ${20 - failed}\n`)
      expect(metrics).toContain('http_requests_total{service="demo",version="v1",code="200"} 20\n')
    } finally {
      await service.close()
    }
  })

  it('exits when its stdin closes, so it cannot outlive gray', async () => {
    const child = execa(process.execPath, [demoScript('service.mjs'), '--port', '0', '--exit-with-stdin'], {
      stdin: 'pipe',
      reject: false,
      timeout: 10_000,
    })
    const ready = await new Promise<string>((resolve) => child.stdout.once('data', (data: Buffer) => resolve(String(data))))
    expect(JSON.parse(ready)).toMatchObject({ready: true})
    child.stdin.end()
    const result = await child
    expect(result.timedOut).toBe(false)
    expect(result.exitCode).toBe(0)
  })

  it('deploy.mjs exits 1 with a message when the service does not answer', async () => {
    const result = await execa(process.execPath, [demoScript('deploy.mjs'), `127.0.0.1:${await closedPort()}`, 'v2'], {reject: false})
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/^deploy failed: .*ECONNREFUSED/)
  })
})
