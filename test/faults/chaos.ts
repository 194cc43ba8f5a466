// A control-plane proxy that misbehaves on demand, in front of the sandbox
// gateway's admin API: 5xx answers, refused connections, slow answers.
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

export type ChaosMode = 'pass' | '5xx' | 'refuse' | 'slow'

export interface Chaos {
  address: string
  mode: ChaosMode
  /** PUTs (publishes) answered 503 before the mode applies again */
  fail5xxPuts: number
  puts: number
  stop(): Promise<void>
}

export async function startChaos(target: string): Promise<Chaos> {
  const sockets = new Set<Socket>()
  const chaos: Chaos = {address: '', mode: 'pass', fail5xxPuts: 0, puts: 0, stop: async () => undefined}
  const server: Server = createServer((req, res) => {
    // a kept-alive connection must not outlive an outage either
    if (chaos.mode === 'refuse') return void req.socket.destroy()
    if (req.method === 'PUT') chaos.puts += 1
    if (chaos.mode === '5xx' || (req.method === 'PUT' && chaos.fail5xxPuts > 0)) {
      if (req.method === 'PUT' && chaos.fail5xxPuts > 0) chaos.fail5xxPuts -= 1
      req.resume()
      res.writeHead(503, {'content-type': 'application/json'}).end('{"error":"chaos: unavailable"}')
      return
    }
    const forward = () => {
      const up = request({host: target.split(':')[0], port: Number(target.split(':')[1]), method: req.method, path: req.url, headers: req.headers}, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      up.on('error', () => res.writeHead(502).end())
      req.pipe(up)
    }
    if (chaos.mode === 'slow') setTimeout(forward, 1_500)
    else forward()
  })
  server.on('connection', (s) => {
    if (chaos.mode === 'refuse') return void s.destroy()
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  chaos.address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  chaos.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  return chaos
}
