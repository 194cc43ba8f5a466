// A loopback HTTP server that answers with recorded responses and keeps what it was asked.
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface Recorded {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export interface Answer {
  status: number
  /** objects are sent as JSON, strings as text */
  body: unknown
  /** ms to wait before answering */
  delayMs?: number
}

export interface ReplayServer {
  url: string
  requests: Recorded[]
  /** how the next requests are answered (one answer: every request) */
  answer: (req: Recorded) => Answer
  close(): Promise<void>
}

export async function startReplayServer(answer: (req: Recorded) => Answer): Promise<ReplayServer> {
  const replay: ReplayServer = {
    url: '',
    requests: [],
    answer,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const recorded = {method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8')}
      replay.requests.push(recorded)
      const {status, body, delayMs} = replay.answer(recorded)
      const send = () => {
        if (res.destroyed) return
        const json = typeof body !== 'string'
        res.writeHead(status, {'content-type': json ? 'application/json' : 'text/plain'})
        res.end(json ? JSON.stringify(body) : body)
      }
      if (delayMs) setTimeout(send, delayMs)
      else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  replay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return replay
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
