// Plain servers on 127.0.0.1 for tests that need peers that listen (hosts,
// a control plane) and an address where nothing listens.
import {createServer, type Server} from 'node:http'

export interface Loopback {
  /** listens on an ephemeral port; resolves to host:port */
  listen(server: Server): Promise<string>
  /** a port nothing listens on: taken, then let go */
  deadPort(): Promise<string>
  close(): Promise<void>
}

export function loopback(): Loopback {
  const servers: Server[] = []
  const at = (s: Server) => `127.0.0.1:${(s.address() as {port: number}).port}`
  return {
    async listen(server) {
      servers.push(server)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return at(server)
    },
    async deadPort() {
      const s = createServer()
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
      const address = at(s)
      await new Promise((resolve) => s.close(resolve))
      return address
    },
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    },
  }
}
