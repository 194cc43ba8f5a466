// A recording proxy in front of the sandbox gateway's admin API: every publish
// (PUT) is logged with the time it reached the gateway and the revision it
// carries. A revision is `<run id>.<seq of its gateway.publish.started>`, so
// the journal names who published it: that event's actor and lease epoch.
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

import type {JournalEvent} from '../../src/core/ports.js'

export interface Publish {
  /** Date.now() when the PUT arrived */
  at: number
  revision: string | null
  status: number
}

export interface PublishLog {
  /** host:port for gray.yaml's gateway.admin */
  address: string
  publishes: Publish[]
  stop(): Promise<void>
}

export async function startPublishLog(target: string): Promise<PublishLog> {
  const [host, port] = target.split(':') as [string, string]
  const sockets = new Set<Socket>()
  const log: PublishLog = {address: '', publishes: [], stop: async () => undefined}
  const server: Server = createServer((req, res) => {
    const at = Date.now()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let entry: Publish | null = null
      if (req.method === 'PUT') {
        let revision: string | null = null
        try {
          revision = String((JSON.parse(body.toString('utf8')) as {revision?: unknown}).revision ?? '') || null
        } catch {
          revision = null
        }
        entry = {at, revision, status: 0}
        log.publishes.push(entry)
      }
      const up = request({host, port: Number(port), method: req.method, path: req.url, headers: req.headers}, (r) => {
        if (entry) entry.status = r.statusCode ?? 0
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      up.on('error', () => res.writeHead(502).end())
      up.end(body)
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  log.address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  log.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  return log
}

/** the gateway.publish.started event a revision (`<run>.<seq>`) names: who published it, under which epoch */
export function publisherOf(events: JournalEvent[], revision: string | null): JournalEvent | undefined {
  const seq = Number(revision?.split('.').at(-1))
  return events.find((e) => e.seq === seq && e.type === 'gateway.publish.started')
}
