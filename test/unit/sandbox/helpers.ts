// Tiny real HTTP servers and a client for the sandbox tests.
import {Agent, createServer, request, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface Upstream {
  name: string
  address: string
  /** headers of every request it served */
  seen: IncomingHttpHeaders[]
  close(): Promise<void>
}

export async function startUpstream(name: string): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = []
  const server: Server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    res.setHeader('content-type', 'text/plain')
    res.end(name)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    name,
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

const agent = new Agent({keepAlive: true, maxSockets: 8})

export function send(url: string, options: {method?: string; headers?: Record<string, string>; body?: string} = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: options.method ?? 'GET', headers: options.headers, agent}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

export function putJson(url: string, value: unknown): Promise<Reply> {
  return send(url, {method: 'PUT', headers: {'content-type': 'application/json'}, body: JSON.stringify(value)})
}
