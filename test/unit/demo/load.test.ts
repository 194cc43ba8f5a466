import {createServer, type IncomingMessage, type RequestListener, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {execa} from 'execa'
import {afterEach, describe, expect, it} from 'vitest'

import {startLoad} from '../../../src/demo/load.js'
import {waitFor} from '../../support/process.js'

interface Seen {
  cookies: string[]
  testers: number
  sockets: Set<unknown>
}

/** A gateway stand-in: X-Gray: 1 goes to "gray" (v2), everything else to "stable" (v1). */
async function gateway(delayMs = 0): Promise<{server: Server; url: string; seen: Seen}> {
  const seen: Seen = {cookies: [], testers: 0, sockets: new Set()}
  const server = createServer((req: IncomingMessage, res) => {
    seen.cookies.push(req.headers.cookie ?? '')
    seen.sockets.add(req.socket)
    const gray = req.headers['x-gray'] === '1'
    if (gray) seen.testers++
    const body = JSON.stringify({service: 'demo', version: gray ? 'v2' : 'v1'})
    setTimeout(() => {
      res.writeHead(200, {'content-type': 'application/json', 'x-gray-route': gray ? 'gray' : 'stable'}).end(body)
    }, delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {server, url: `http://127.0.0.1:${port}/`, seen}
}

describe('startLoad', () => {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      server.close()
    }
  })

  it('sends no more than rps, from many users, a share of them testers', async () => {
    const {server, url, seen} = await gateway()
    servers.push(server)
    const started = performance.now()
    const load = startLoad({url, rps: 40, users: 7, grayHeaderShare: 0.25})
    await sleep(1000)
    await load.stop()
    const elapsedS = (performance.now() - started) / 1000

    const stats = load.stats()
    expect(seen.cookies.length).toBe(stats.sent)
    expect(stats.sent).toBeGreaterThan(0)
    expect(stats.sent).toBeLessThanOrEqual(40 * elapsedS + 2)
    expect(new Set(seen.cookies)).toEqual(new Set(['uid=u1', 'uid=u2', 'uid=u3', 'uid=u4', 'uid=u5', 'uid=u6', 'uid=u7']))
    expect(stats.users).toBe(7)
    expect(seen.testers).toBe(Math.floor(stats.sent * 0.25))

    expect(stats.errors).toBe(0)
    expect(stats.responses).toBe(stats.sent)
    expect(stats.byRoute).toEqual({gray: seen.testers, stable: stats.sent - seen.testers})
    expect(stats.byVersion).toEqual({v2: seen.testers, v1: stats.sent - seen.testers})
    expect(stats.byStatus).toEqual({200: stats.sent})
    expect(stats.grayShare).toBeCloseTo(seen.testers / stats.sent)
    // one keep-alive agent: far fewer connections than requests
    expect(seen.sockets.size).toBeLessThan(stats.sent)
  })

  it('stops by itself when the signal aborts', async () => {
    const {server, url, seen} = await gateway()
    servers.push(server)
    const controller = new AbortController()
    const load = startLoad({url, rps: 50, users: 3, signal: controller.signal})
    await sleep(300)
    controller.abort()
    // every request sent before the abort has reached the server: waited for, not guessed (a loaded machine takes longer)
    await waitFor(() => seen.cookies.length === load.stats().sent, 30_000, 'the requests sent before the abort to arrive')
    const received = seen.cookies.length
    expect(received).toBeGreaterThan(0)
    // a load still running would send about 15 more in this stretch
    await sleep(300)
    expect(seen.cookies.length).toBe(received)
    expect(load.stats().sent).toBe(received)
    await load.stop()
  })

  it('stop resolves once the requests in flight have their answers', async () => {
    const {server, url} = await gateway(300)
    servers.push(server)
    const load = startLoad({url, rps: 50, users: 3})
    await sleep(100)
    await load.stop()
    const stats = load.stats()
    expect(stats.sent).toBeGreaterThan(0)
    expect(stats.responses).toBe(stats.sent)
    expect(stats.errors).toBe(0)
  })

  it('counts connection failures as errors', async () => {
    const {server, url} = await gateway()
    await new Promise((resolve) => server.close(resolve))
    const load = startLoad({url, rps: 20, users: 2})
    await sleep(300)
    await load.stop()
    const stats = load.stats()
    expect(stats.sent).toBeGreaterThan(0)
    expect(stats.errors).toBe(stats.sent)
    expect(stats.responses).toBe(0)
    expect(stats.grayShare).toBeNull()
    expect(stats.lastError).toContain('ECONNREFUSED')
  })

  it('reports the routes of recent responses only in the recent window', async () => {
    const {server, url} = await gateway()
    servers.push(server)
    const load = startLoad({url, rps: 20, users: 2, grayHeaderShare: 1})
    await sleep(300)
    await load.stop()
    const stats = load.stats()
    expect(stats.grayShare).toBe(1)
    expect(stats.recent.responses).toBe(stats.responses)
    await sleep(50)
    expect(load.stats(10).recent.responses).toBe(0)
    expect(load.stats(10).grayShare).toBeNull()
  })
  /** `rps` requests a second for `forMs` against a server answering with `handler` */
  async function loadAgainst(handler: RequestListener, rps: number, forMs: number) {
    const server = createServer(handler)
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const load = startLoad({url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, rps, users: 2})
    await sleep(forMs)
    await load.stop()
    return load.stats()
  }

  /**
   * Every socket serves one request (after answerMs); the next one on it is
   * cut off unanswered, as when a server's idle timeout meets a request
   * already on its way.
   */
  function oneRequestPerSocket(answerMs: number): {handler: RequestListener; resets: () => number} {
    let resets = 0
    const served = new WeakSet<object>()
    const handler: RequestListener = (req, res) => {
      if (served.has(req.socket)) {
        resets++
        req.socket.destroy()
        return
      }
      served.add(req.socket)
      setTimeout(() => res.writeHead(200, {'content-type': 'application/json'}).end('{"version":"v1"}'), answerMs)
    }
    return {handler, resets: () => resets}
  }

  it('sends a request again once when the server closed its kept-alive socket as it was reused', async () => {
    const server = oneRequestPerSocket(0)
    const stats = await loadAgainst(server.handler, 10, 700)
    expect(server.resets()).toBeGreaterThan(0)
    expect(stats.errors).toBe(0)
    expect(stats.responses).toBe(stats.sent)
  })

  it('sends the second try on a connection of its own, even when every pooled socket is stale', async () => {
    // slow first answers open several sockets at once, so a retry on another pooled socket would fail too
    const server = oneRequestPerSocket(150)
    const stats = await loadAgainst(server.handler, 40, 800)
    expect(server.resets()).toBeGreaterThan(1)
    expect(stats.errors, stats.lastError).toBe(0)
    expect(stats.responses).toBe(stats.sent)
  })

  it('a reset on a new connection is an error, not retried', async () => {
    let requests = 0
    const stats = await loadAgainst((req) => {
      requests++
      req.socket.destroy()
    }, 20, 300)
    expect(stats.sent).toBeGreaterThan(0)
    expect(stats.errors).toBe(stats.sent)
    expect(requests).toBe(stats.sent)
    expect(stats.lastError).toMatch(/socket hang up|ECONNRESET/)
  })
  it('a pause of its own process is not a slow gateway: answers that came meanwhile count', async () => {
    // the gateway in another process, so it keeps answering while this one is busy
    const child = execa(process.execPath, ['-e', `
      const server = require('node:http').createServer((req, res) => setTimeout(() => res.end('{"version":"v1"}'), 100))
      server.listen(0, '127.0.0.1', () => console.log(server.address().port))`])
    try {
      const port = await new Promise<string>((resolve) => child.stdout?.once('data', (b: Buffer) => resolve(String(b).trim())))
      // a budget far above the child's 100 ms answer, so only the busy spell below can exceed it
      const load = startLoad({url: `http://127.0.0.1:${port}/`, rps: 50, users: 2, requestTimeoutMs: 1500})
      await sleep(150)
      // this process busy (as a demo driver loading its modules), from the
      // check phase, so the expired timers run before the answers are read
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const busyUntil = performance.now() + 2500
          while (performance.now() < busyUntil) {
            // busy
          }
          resolve()
        }),
      )
      await load.stop()
      const stats = load.stats()
      expect(stats.sent).toBeGreaterThan(3)
      expect(stats.errors, stats.lastError).toBe(0)
      expect(stats.responses).toBe(stats.sent)
    } finally {
      child.kill()
      await child.catch(() => undefined)
    }
  })
})
