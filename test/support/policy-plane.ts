// A small loopback control plane for the `http` gateway: it keeps the policy
// PUT to it and serves it back (404 until one was put). It routes nothing; the
// tests that use it look at what gray does, not at traffic.
import {createServer} from 'node:http'

export interface PolicyPlane {
  /** the gateway url for gray.yaml, with its {service} placeholder */
  url: string
  /** the last policy put, as sent; null before the first */
  policy(): string | null
  /** the Authorization header of every request, in order ('' when none) */
  authorizations: string[]
  close(): Promise<void>
}

export async function startPolicyPlane(): Promise<PolicyPlane> {
  let policy: string | null = null
  const authorizations: string[] = []
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? '')
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      if (req.method === 'PUT') policy = body
      if (!policy) return res.writeHead(404).end('{}')
      res.writeHead(200, {'content-type': 'application/json'}).end(policy)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as {port: number}).port}/policies/{service}`,
    policy: () => policy,
    authorizations,
    close: async () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
