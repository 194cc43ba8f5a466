// Hostile peers on 127.0.0.1 for the hostile-input suite: a raw TCP server
// (so status text and headers can carry any bytes a real peer could send)
// that answers every request in one chosen shape — echoing the request's
// credentials and terminal escapes back, trickling a byte at a time, or
// sending a body far larger than gray reads. It stands in for the peers'
// error shapes only (gateway control planes, APISIX, Prometheus, Sentry,
// webhooks), built from their documented error bodies; it routes nothing.
import {createServer, type Server, type Socket} from 'node:net'

/** what terminals act on: CSI clear screen, OSC 8 link, OSC 52 clipboard write, C1 CSI, bidi override, BEL */
export const ESCAPES = '\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b]52;c;ZXZpbA==\x07\u009b31m\u202Egnp.exe\u2066'

/** raw control characters and bidi controls a terminal must never receive from gray */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const RAW_CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/

export type Shape = 'status' | 'json' | 'html' | 'header' | 'ok-echo' | 'trickle' | 'huge'
export const ERROR_SHAPES: Shape[] = ['status', 'json', 'html', 'header']

export interface Peer {
  url: string
  host: string
  shape: Shape
  /** request heads received (method, path, headers), in order */
  requests: Array<{head: string; body: string}>
  close(): Promise<void>
}

export interface PeerOptions {
  /** extra text to echo besides the request's own credentials */
  echo?: string
  /** the body of a 200 answer for 'ok-echo'; receives the echo */
  okBody?: (echo: string) => string
  /** bytes of the huge answer */
  hugeBytes?: number
}

function credentialsOf(head: string): string {
  return head
    .split('\r\n')
    .filter((line) => /^(authorization|x-api-key|cookie):/i.test(line))
    .join(' | ')
}

/** A peer that answers every request in `shape`. */
export async function startPeer(shape: Shape, options: PeerOptions = {}): Promise<Peer> {
  const requests: Peer['requests'] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let buffer = ''
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      const end = buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = buffer.slice(0, end)
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      if (buffer.length < end + 4 + length) return
      const body = Buffer.from(buffer.slice(end + 4, end + 4 + length), 'latin1').toString('utf8')
      buffer = buffer.slice(end + 4 + length)
      requests.push({head, body})
      answer(socket, shape, `${credentialsOf(head)} ${options.echo ?? ''} ${ESCAPES}`, options)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    shape,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function raw(socket: Socket, status: string, headers: string[], body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\n${[...headers, `content-length: ${bytes.length}`, 'connection: close'].join('\r\n')}\r\n\r\n`, 'utf8'), bytes]))
  socket.end()
}

function answer(socket: Socket, shape: Shape, echo: string, options: PeerOptions): void {
  switch (shape) {
    case 'status':
      return raw(socket, `503 ${echo.replace(/[\r\n]/g, ' ')}`, [], '')
    case 'json': {
      // every error field a peer gray talks to is documented to use
      const said = `rejected: ${echo}`
      return raw(socket, '500 Internal Server Error', ['content-type: application/json'], JSON.stringify({status: 'error', error: said, errorType: 'internal', detail: said, error_msg: said, message: said}))
    }
    case 'html':
      return raw(socket, '502 Bad Gateway', ['content-type: text/html'], `<html><body><h1>502</h1><p>${echo}</p><script>alert(1)</script></body></html>`)
    case 'header':
      return raw(socket, '401 Unauthorized', [`www-authenticate: Bearer error="invalid_token", echo="${echo.replace(/[\r\n]/g, ' ')}"`, `x-echo: ${echo.replace(/[\r\n]/g, ' ')}`, 'content-type: application/json'], JSON.stringify({error: `unauthorized: ${echo}`, detail: `unauthorized: ${echo}`}))
    case 'ok-echo':
      return raw(socket, '200 OK', ['content-type: application/json'], options.okBody ? options.okBody(echo) : '{}')
    case 'trickle': {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n')
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(' ')), 100)
      socket.on('close', () => clearInterval(timer))
      return
    }
    case 'huge': {
      const total = options.hugeBytes ?? 50 * 1024 * 1024
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${total}\r\n\r\n`)
      const chunk = Buffer.alloc(256 * 1024, 0x20)
      let sent = 0
      const pump = () => {
        while (sent < total && !socket.destroyed) {
          sent += chunk.length
          if (!socket.write(chunk)) return void socket.once('drain', pump)
        }
        socket.end()
      }
      pump()
      return
    }
  }
}

/** every form a secret could be written in */
export function forms(secret: string): string[] {
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), Buffer.from(secret).toString('base64')]
}

/** the forms of `secrets` found in `text` (empty when none leaked) */
export function leaks(text: string, secrets: string[]): string[] {
  return secrets.flatMap((s) => forms(s).filter((f) => text.includes(f)))
}
