// HAProxy's Runtime API (the stats socket, management.txt §9.3): one command
// line per connection, HAProxy answers and closes. Several commands may share
// a line separated by ";", run in order by the same process.
import {connect, type Socket} from 'node:net'

/** bounds one answer: `show map` of gray's state map is a few hundred bytes */
const MAX_ANSWER_BYTES = 1 << 20

/** "ipv4@host:port" / "ipv6@[addr]:port" / "unix@path" / a path, as HAProxy's `stats socket` spells them. */
export function socketTarget(address: string): {path: string} | {host: string; port: number} {
  const net = /^ipv([46])@\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address)
  if (net) return {host: net[2] as string, port: Number(net[3])}
  return {path: address.replace(/^unix@/, '')}
}

export class RuntimeApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
    this.name = 'RuntimeApiError'
  }
}

/** Sends one line; resolves HAProxy's whole answer. */
export function runtimeCommand(address: string, line: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  if (/[\r\n]/.test(line)) return Promise.reject(new RuntimeApiError('a Runtime API command is one line'))
  return new Promise((resolve, reject) => {
    const target = socketTarget(address)
    const socket: Socket = 'path' in target ? connect(target.path) : connect(target.port, target.host)
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const finish = (error: Error | null, text?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      if (error) reject(error)
      else resolve(text ?? '')
    }
    const onAbort = () => finish(new RuntimeApiError('cancelled', 'ABORT_ERR'))
    const timer = setTimeout(() => finish(new RuntimeApiError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs)
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, {once: true})
    socket.on('connect', () => socket.write(`${line}\n`))
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_ANSWER_BYTES) return finish(new RuntimeApiError(`answer longer than ${MAX_ANSWER_BYTES} bytes`))
      chunks.push(chunk)
    })
    socket.on('end', () => finish(null, Buffer.concat(chunks).toString('utf8')))
    socket.on('error', (error: NodeJS.ErrnoException) => finish(new RuntimeApiError(error.code ?? error.message, error.code)))
  })
}

/** `show map` lines ("0x55.. key value") as key → value; the first entry of a key is the one lookups find. */
export function parseShowMap(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^0x[0-9a-f]+ (\S+) (.*)$/.exec(line)
    if (match && !entries.has(match[1] as string)) entries.set(match[1] as string, match[2] as string)
  }
  return entries
}

export interface ServerState {
  backend: string
  name: string
  address: string
  port: number
}

/** `show servers state` (format 1): one line per server after the "# be_id ..." header. */
export function parseServersState(text: string): ServerState[] {
  const servers: ServerState[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#') || /^\d+$/.test(line)) continue
    const f = line.split(' ')
    if (f.length < 19) continue
    servers.push({backend: f[1] as string, name: f[3] as string, address: f[4] as string, port: Number(f[18])})
  }
  return servers
}
