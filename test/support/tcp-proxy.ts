// A TCP proxy the tests control, put between gray and a server (PostgreSQL):
// it passes bytes through until told to cut the link, in one of three ways —
//   blackhole   connections stay open, every byte either way is dropped (a partition)
//   refuse      every connection is reset, and new ones are refused
//   holdReplies bytes to the server pass, the server's replies are kept back until release()
//               (a one-way partition: the server acts on what it got, gray hears nothing)
// holdRepliesAfter() arms holdReplies for a moment picked by what gray sends:
// after a message matching `after` on a connection, at the next one matching
// `on` there (forwarded first), so a test can cut at an exact statement.
import {connect, createServer, type Server, type Socket} from 'node:net'

export type ProxyMode = 'pass' | 'blackhole' | 'refuse' | 'hold'

export interface TcpProxy {
  readonly port: number
  readonly mode: ProxyMode
  /** rewrites a postgres://…@host:port/db URL to go through the proxy */
  via(url: string): string
  cut(mode: Exclude<ProxyMode, 'pass'>): void
  /** back to passing bytes; replies held back are delivered first */
  heal(): void
  /** resolves with the time (Date.now()) the replies began to be held */
  holdRepliesAfter(after: RegExp, on: RegExp): Promise<number>
  close(): Promise<void>
}

interface Link {
  client: Socket
  upstream: Socket
  held: Buffer[]
  armed: boolean
}

export async function startTcpProxy(target: {host: string; port: number}): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass'
  const links = new Set<Link>()
  let trigger: {after: RegExp; on: RegExp; fire: (at: number) => void} | null = null

  const hold = () => {
    mode = 'hold'
    trigger = null
  }
  const server: Server = createServer((client) => {
    if (mode === 'refuse') return void client.destroy()
    const upstream = connect(target.port, target.host)
    const link: Link = {client, upstream, held: [], armed: false}
    links.add(link)
    const end = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') return
      upstream.write(chunk)
      if (trigger && mode === 'pass') {
        const text = chunk.toString('latin1')
        if (link.armed && trigger.on.test(text)) {
          const fire = trigger.fire
          hold()
          fire(Date.now())
        } else if (trigger.after.test(text)) link.armed = true
      }
    })
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') return
      if (mode === 'hold') link.held.push(chunk)
      else client.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port

  return {
    port,
    get mode() {
      return mode
    },
    via(url) {
      const u = new URL(url)
      u.host = `127.0.0.1:${port}`
      return u.toString()
    },
    cut(how) {
      mode = how
      if (how === 'refuse') for (const l of [...links]) l.client.destroy()
    },
    heal() {
      mode = 'pass'
      for (const l of links) for (const chunk of l.held.splice(0)) l.client.write(chunk)
    },
    holdRepliesAfter(after, on) {
      return new Promise<number>((resolve) => {
        trigger = {after, on, fire: resolve}
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const l of [...links]) {
          l.client.destroy()
          l.upstream.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
