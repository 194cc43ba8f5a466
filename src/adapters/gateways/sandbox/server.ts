// The built-in sandbox gateway: a real local reverse proxy that routes by a
// gray policy, with a small control plane to publish policies to it.
import {Agent, createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {createProxyServer} from 'httpxy'
import {toDocument} from '../../../core/policy/document.js'
import type {Policy} from '../../../core/ports.js'
import {httpUrl, parseListenAddress} from './address.js'
import {adminPlane} from './admin.js'
import {dataPlane} from './data-plane.js'
import {loadState, saveState} from './state-file.js'
import {PolicyStore} from './store.js'

/** an upstream silent this long is answered with 502 */
const UPSTREAM_TIMEOUT_MS = 60_000
/** how long an idle connection to an upstream is kept for reuse */
const UPSTREAM_IDLE_MS = 4_000
/** how long an idle client connection is kept open */
const KEEPALIVE_TIMEOUT_MS = 75_000

export interface SandboxOptions {
  /** user traffic, host:port (port 0: any free port) */
  listen: string
  /** control plane, host:port */
  admin: string
  /** where the applied policy is kept across restarts */
  stateFile?: string
}

export interface RunningSandbox {
  listenUrl: string
  adminUrl: string
  close(): Promise<void>
}

export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  const listen = parseListenAddress(options.listen, 'listen')
  const admin = parseListenAddress(options.admin, 'admin')
  const {stateFile} = options
  const store = new PolicyStore(stateFile ? await loadState(stateFile) : null)

  // An idle upstream socket is closed after 4 s, before an upstream with
  // Node's default 5 s keep-alive closes it under a request sent on it.
  const agent = new Agent({keepAlive: true, timeout: UPSTREAM_IDLE_MS})
  const proxy = createProxyServer({agent, xfwd: true, proxyTimeout: UPSTREAM_TIMEOUT_MS})
  // Keep-Alive is hop-by-hop (RFC 9110 §7.6.1): the upstream's idle timeout
  // is not ours. Passing it on told clients to keep sockets this server had
  // already closed, and their next request on one was reset.
  proxy.on('proxyRes', (proxyRes) => {
    proxyRes.headers['keep-alive'] = `timeout=${KEEPALIVE_TIMEOUT_MS / 1000}`
  })
  const dataServer = createServer(dataPlane(store, proxy))
  // nginx's default keepalive_timeout
  dataServer.keepAliveTimeout = KEEPALIVE_TIMEOUT_MS
  const persist = stateFile ? (policy: Policy) => saveState(stateFile, toDocument(policy)) : undefined
  const adminServer = createServer(adminPlane(store, {persist}))

  try {
    const dataPort = await listenOn(dataServer, listen.host, listen.port)
    const adminPort = await listenOn(adminServer, admin.host, admin.port)
    return {
      listenUrl: httpUrl(listen.host, dataPort),
      adminUrl: httpUrl(admin.host, adminPort),
      close: async () => {
        await Promise.all([stop(dataServer), stop(adminServer)])
        agent.destroy()
      },
    }
  } catch (error) {
    await Promise.all([stop(dataServer), stop(adminServer)])
    agent.destroy()
    throw error
  }
}

function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.message
      reject(new Error(`The sandbox gateway cannot listen on ${host}:${port}: ${why}.`))
    }
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function stop(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
