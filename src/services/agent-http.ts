// `gray agent`'s /healthz and /metrics (node:http). Both answer from memory
// (the agent's snapshot), never from the state, and the server is bounded:
// few connections, short timeouts, GET only, so nothing observing the agent
// can delay a driver.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {ConfigError} from '../core/errors.js'

export interface Listen {
  host: string
  port: number
}

export interface Observed {
  health(): {ok: boolean} & Record<string, unknown>
  metrics(): string
}

/** `127.0.0.1:9465`, `[::1]:9465`, `:9465` (loopback), or `off` (null) */
export function parseListen(text: string): Listen | null {
  if (text === 'off' || text === 'none') return null
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim())
  const port = Number(m?.[3])
  if (!m || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`--listen ${text} is not an address like 127.0.0.1:9465`, 'give host:port, or off to serve nothing')
  }
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

export async function serveAgent(listen: Listen, observed: Observed): Promise<{server: Server; address: string; close(): Promise<void>}> {
  const server = createServer((req, res) => {
    res.setHeader('Connection', 'close')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {Allow: 'GET, HEAD', 'Content-Type': 'text/plain'}).end('method not allowed\n')
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    try {
      if (path === '/healthz') {
        const health = observed.health()
        res.writeHead(health.ok ? 200 : 503, {'Content-Type': 'application/json'}).end(JSON.stringify(health) + '\n')
      } else if (path === '/metrics') {
        res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4; charset=utf-8'}).end(req.method === 'HEAD' ? undefined : observed.metrics())
      } else {
        res.writeHead(404, {'Content-Type': 'text/plain'}).end('not found: try /healthz or /metrics\n')
      }
    } catch {
      res.writeHead(500, {'Content-Type': 'text/plain'}).end('internal error\n')
    }
  })
  server.maxConnections = 32
  server.headersTimeout = 5_000
  server.requestTimeout = 5_000
  server.keepAliveTimeout = 1_000
  server.maxHeadersCount = 50
  await new Promise<void>((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      fail(new ConfigError(`cannot listen on ${listen.host}:${listen.port} (${error.code ?? error.message})`, 'choose another --listen address, or --listen off')),
    )
    server.listen(listen.port, listen.host, () => done())
  })
  server.unref()
  const a = server.address() as AddressInfo
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  return {
    server,
    address,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
}
