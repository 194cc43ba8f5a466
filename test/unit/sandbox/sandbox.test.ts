import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, test} from 'vitest'
import {GatewayError} from '../../../src/core/errors.js'
import {toDocument} from '../../../src/core/policy/document.js'
import {inGray} from '../../../src/core/policy/hash.js'
import type {Policy} from '../../../src/core/ports.js'
import {SandboxGateway} from '../../../src/adapters/gateways/sandbox/index.js'
import {runSandbox} from '../../../src/adapters/gateways/sandbox/main.js'
import {startSandbox, type RunningSandbox} from '../../../src/adapters/gateways/sandbox/server.js'
import {freePort, putJson, send, startUpstream, type Upstream} from './helpers.js'

let stable: Upstream
let gray: Upstream
let sandbox: RunningSandbox | undefined
let dir: string

beforeAll(async () => {
  stable = await startUpstream('stable')
  gray = await startUpstream('gray')
  dir = await mkdtemp(join(tmpdir(), 'gray-sandbox-'))
})

afterAll(async () => {
  await Promise.all([stable.close(), gray.close()])
  await rm(dir, {recursive: true, force: true})
})

afterEach(async () => {
  await sandbox?.close()
  sandbox = undefined
  stable.seen.length = 0
  gray.seen.length = 0
})

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: 'r1',
    mode: 'split',
    weightBp: 0,
    sticky: {kind: 'cookie', name: 'uid'},
    rules: [],
    stable: [{name: 'stable-1', address: stable.address}],
    gray: [{name: 'gray-1', address: gray.address}],
    ...over,
  }
}

async function started(stateFile?: string): Promise<RunningSandbox> {
  sandbox = await startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0', stateFile})
  return sandbox
}

function gatewayFor(running: RunningSandbox): SandboxGateway {
  const host = (url: string) => new URL(url).host
  return new SandboxGateway({type: 'sandbox', listen: host(running.listenUrl), admin: host(running.adminUrl)}, 'checkout')
}

async function publish(running: RunningSandbox, p: Policy): Promise<void> {
  const reply = await putJson(`${running.adminUrl}/v1/policy/${p.service}`, toDocument(p))
  expect(reply.status, reply.body).toBe(200)
}

describe('data plane', () => {
  test('answers 503 with a clear sentence before any policy', async () => {
    const running = await started()
    const reply = await send(`${running.listenUrl}/`)
    expect(reply.status).toBe(503)
    expect(reply.body).toContain('no policy yet')
  })

  test('weight 0 sends every user to stable', async () => {
    const running = await started()
    await publish(running, policy())
    for (let i = 0; i < 50; i++) {
      const reply = await send(`${running.listenUrl}/x`, {headers: {cookie: `uid=u${i}`}})
      expect(reply.body).toBe('stable')
      expect(reply.headers['x-gray-route']).toBe('stable')
    }
    expect(gray.seen).toHaveLength(0)
  })

  test('a request matching a rule goes to gray at weight 0', async () => {
    const running = await started()
    await publish(running, policy({rules: [{kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'}, {kind: 'range', field: {source: 'query', name: 'uid'}, min: 10, max: 20}]}))
    expect((await send(`${running.listenUrl}/`, {headers: {'x-gray': '1'}})).body).toBe('gray')
    expect((await send(`${running.listenUrl}/?uid=15`)).body).toBe('gray')
    expect((await send(`${running.listenUrl}/?uid=21`)).body).toBe('stable')
  })

  test('weight 50 splits 2000 users close to half, each as the nginx hash says', async () => {
    const running = await started()
    await publish(running, policy({weightBp: 5000}))
    let grayUsers = 0
    for (let i = 0; i < 2000; i++) {
      const uid = `user-${i}`
      const reply = await send(`${running.listenUrl}/`, {headers: {cookie: `theme=dark; uid=${uid}`}})
      expect(reply.body).toBe(inGray(uid, 5000) ? 'gray' : 'stable')
      if (reply.body === 'gray') grayUsers++
    }
    expect(Math.abs(grayUsers / 2000 - 0.5)).toBeLessThan(0.04)
  })

  test('the tag header reaches gray only, and a forged one never reaches stable', async () => {
    const running = await started()
    await publish(running, policy({weightBp: 0, tag: {header: 'X-Gray-Tag', value: 'gray'}, rules: [{kind: 'equals', field: {source: 'cookie', name: 'beta'}, value: 'yes'}]}))
    await send(`${running.listenUrl}/`, {headers: {cookie: 'beta=yes'}})
    await send(`${running.listenUrl}/`, {headers: {cookie: 'uid=a', 'x-gray-tag': 'gray'}})
    expect(gray.seen.map((h) => h['x-gray-tag'])).toEqual(['gray'])
    expect(stable.seen).toHaveLength(1)
    expect(stable.seen[0]?.['x-gray-tag']).toBeUndefined()
  })

  test('hosts of an upstream take turns', async () => {
    const second = await startUpstream('stable-b')
    try {
      const running = await started()
      await publish(running, policy({mode: 'plain', stable: [{name: 'a', address: stable.address}, {name: 'b', address: second.address}], gray: []}))
      const bodies = []
      for (let i = 0; i < 4; i++) bodies.push((await send(`${running.listenUrl}/`)).body)
      expect(bodies).toEqual(['stable', 'stable-b', 'stable', 'stable-b'])
    } finally {
      await second.close()
    }
  })

  test('keeps idle client connections 75 s, as nginx does, and says so', async () => {
    const running = await started()
    await publish(running, policy())
    const reply = await send(`${running.listenUrl}/`, {headers: {connection: 'keep-alive'}})
    expect(reply.headers['keep-alive']).toBe('timeout=75')
  })

  test('closes an idle upstream connection itself, before an upstream with a longer keep-alive would', async () => {
    // an upstream that would keep the socket 10 s: if the sandbox closes it
    // first, the upstream sees the peer's FIN ('end') before the close
    const upstream = createServer((_req, res) => res.end('idle-test'))
    upstream.keepAliveTimeout = 10_000
    const closed = new Promise<{byPeer: boolean}>((resolve) =>
      upstream.on('connection', (socket) => {
        let byPeer = false
        socket.on('end', () => (byPeer = true))
        socket.on('close', () => resolve({byPeer}))
      }),
    )
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    try {
      const running = await started()
      const address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`
      await publish(running, policy({mode: 'plain', stable: [{name: 'idle-1', address}], gray: []}))
      expect((await send(`${running.listenUrl}/`)).body).toBe('idle-test')
      expect(await closed).toEqual({byPeer: true})
    } finally {
      upstream.closeAllConnections()
      await new Promise((resolve) => upstream.close(resolve))
    }
  })

  test('a dead upstream answers 502 naming it', async () => {
    const running = await started()
    const port = await freePort()
    await publish(running, policy({mode: 'plain', stable: [{name: 'dead-1', address: `127.0.0.1:${port}`}], gray: []}))
    const reply = await send(`${running.listenUrl}/`)
    expect(reply.status).toBe(502)
    expect(reply.body).toContain('dead-1')
    expect(reply.body).toContain('ECONNREFUSED')
  })
})

describe('control plane', () => {
  test('PUT answers with what is now served; GET returns the document', async () => {
    const running = await started()
    expect((await send(`${running.adminUrl}/v1/policy/checkout`)).status).toBe(404)
    const put = await putJson(`${running.adminUrl}/v1/policy/checkout`, toDocument(policy({revision: 'r9', weightBp: 100})))
    expect(put.status).toBe(200)
    expect(JSON.parse(put.body)).toEqual({revision: 'r9', weightBasisPoints: 100, mode: 'split'})
    const get = await send(`${running.adminUrl}/v1/policy/checkout`)
    expect(JSON.parse(get.body)).toEqual(toDocument(policy({revision: 'r9', weightBp: 100})))
    const health = await send(`${running.adminUrl}/healthz`)
    expect(JSON.parse(health.body)).toEqual({ok: true, service: 'checkout', revision: 'r9'})
  })

  test('an invalid document is refused with 400 naming the field, and the old policy stays', async () => {
    const running = await started()
    await publish(running, policy({revision: 'good'}))
    const bad = {...toDocument(policy({revision: 'bad'})), weightBasisPoints: 20_000}
    const reply = await putJson(`${running.adminUrl}/v1/policy/checkout`, bad)
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.body)).toMatchObject({field: 'weightBasisPoints'})
    expect((await send(`${running.adminUrl}/v1/policy/checkout`, {method: 'PUT', body: '{nope'})).status).toBe(400)
    expect(JSON.parse((await send(`${running.adminUrl}/v1/policy/checkout`)).body).revision).toBe('good')
  })

  test('the first service fixes the sandbox; another gets 409', async () => {
    const running = await started()
    await publish(running, policy())
    const other = await putJson(`${running.adminUrl}/v1/policy/search`, toDocument(policy({service: 'search'})))
    expect(other.status).toBe(409)
    expect(JSON.parse(other.body).error).toContain('serves service "checkout"')
    expect((await putJson(`${running.adminUrl}/v1/policy/search`, toDocument(policy()))).status).toBe(400)
  })

  test('a state file brings the policy back after a restart', async () => {
    const stateFile = join(dir, 'sandbox-state.json')
    const first = await started(stateFile)
    await publish(first, policy({revision: 'kept', weightBp: 10_000}))
    expect(JSON.parse(await readFile(stateFile, 'utf8')).revision).toBe('kept')
    await first.close()
    const second = await started(stateFile)
    expect(JSON.parse((await send(`${second.adminUrl}/v1/policy/checkout`)).body).revision).toBe('kept')
    expect((await send(`${second.listenUrl}/`, {headers: {cookie: 'uid=someone'}})).body).toBe(inGray('someone', 10_000) ? 'gray' : 'stable')
  })

  test('a damaged state file stops the start with a clear message', async () => {
    const stateFile = join(dir, 'damaged.json')
    await writeFile(stateFile, '{"apiVersion": "gray.dev/v1"')
    await expect(startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0', stateFile})).rejects.toThrow(/state file .* fix or remove it/)
  })
})

describe('SandboxGateway', () => {
  test('publishes, reads back, and the proxy serves the published policy', async () => {
    const running = await started()
    const gateway = gatewayFor(running)
    expect(await gateway.readBack()).toBe(null)
    const applied = await gateway.publish(policy({revision: 'r2', weightBp: 5_000}))
    expect(applied).toEqual({revision: 'r2', weightBp: 5_000, mode: 'split'})
    expect(await gateway.readBack()).toEqual(applied)
    expect((await send(`${running.listenUrl}/`, {headers: {'x-gray': '1'}})).body).toBe('stable')
    await gateway.publish(policy({revision: 'r3', mode: 'plain'}))
    expect((await gateway.readBack())?.revision).toBe('r3')
  })

  test('a refused document is a permanent GatewayError', async () => {
    const running = await started()
    const gateway = gatewayFor(running)
    const error = await gateway.publish(policy({rules: [{kind: 'cidr', cidrs: ['999.0.0.0/8']}]})).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).permanent).toBe(true)
    expect((error as GatewayError).message).toContain('HTTP 400')
    expect((error as GatewayError).message).toContain('rules[0].ip[0]')
  })

  test('an unreachable admin says so and how to start the sandbox', async () => {
    const port = await freePort()
    const gateway = new SandboxGateway({type: 'sandbox', listen: '127.0.0.1:8080', admin: `127.0.0.1:${port}`}, 'checkout')
    const error = await gateway.readBack().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).permanent).toBe(false)
    expect((error as GatewayError).message).toBe(
      `The sandbox gateway is not reachable at 127.0.0.1:${port}; start it with \`gray sandbox --listen 127.0.0.1:8080 --admin 127.0.0.1:${port}\`.`,
    )
  })

  test('describes itself and renders the document', () => {
    const gateway = new SandboxGateway({type: 'sandbox', listen: '127.0.0.1:1', admin: '127.0.0.1:2'}, 'checkout')
    expect(gateway.capabilities()).toEqual({rules: ['equals', 'in', 'prefix', 'range', 'cidr'], sticky: ['cookie', 'header', 'query', 'ip'], stickySplit: true, tag: true})
    expect(JSON.parse(gateway.render(policy()))).toEqual(toDocument(policy()))
  })
})

describe('runSandbox', () => {
  test('prints both URLs as one JSON line and stops when asked', async () => {
    const lines: string[] = []
    const stop = new AbortController()
    const done = runSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0', print: (line) => lines.push(line), signal: stop.signal})
    await expect.poll(() => lines.length).toBe(1)
    const urls = JSON.parse(lines[0] as string) as {listen: string; admin: string}
    expect(urls.listen).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect((await send(`${urls.admin}/healthz`)).status).toBe(200)
    stop.abort()
    await done
    await expect(send(`${urls.admin}/healthz`)).rejects.toThrow()
  })
})
