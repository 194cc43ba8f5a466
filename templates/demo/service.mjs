#!/usr/bin/env node
// A sample HTTP service for `gray demo`: it answers with its version, counts
// requests in Prometheus format, and can be "deployed" to another version.
//
//   node service.mjs --port 0 --version v1 --service demo [--fail-versions v2] [--name NAME]
//
// Prints {"ready":true,"port":P} on stdout once listening.
import {createServer} from 'node:http'
import {pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

const DEPLOY_MS = 300
// every 10 requests, these 3 fail: 30%, spread out, the same on every run
const FAILING_SLOTS = new Set([1, 4, 7])
const UNCOUNTED = ['/metrics', '/healthz', '/admin']

/**
 * Starts the service in this process.
 * @param {{port?: number, host?: string, version: string, service?: string, name?: string, failVersions?: string[], deployMs?: number}} opts
 * @returns {Promise<{port: number, state: () => {version: string, deploying: string | null}, close: () => Promise<void>}>}
 */
export async function startService(opts) {
  const service = opts.service ?? 'demo'
  const failVersions = new Set(opts.failVersions ?? [])
  const deployMs = opts.deployMs ?? DEPLOY_MS
  let version = opts.version
  let deploying = null
  let deployTimer
  let served = 0
  // named after its port unless told otherwise; the port is known once listening
  let name = opts.name
  const counters = new Map()

  const count = (code) => {
    const key = `${version}\u0000${code}`
    counters.set(key, (counters.get(key) ?? 0) + 1)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://service')
    const send = (status, body, type = 'application/json') => {
      const text = type === 'application/json' ? JSON.stringify(body) : body
      res.writeHead(status, {'content-type': type, 'content-length': Buffer.byteLength(text)})
      res.end(text)
    }
    // drain any request body so the connection stays reusable
    req.resume()

    if (url.pathname === '/healthz') {
      if (deploying) return send(503, {version, deploying})
      return send(200, {version})
    }
    if (url.pathname === '/metrics') return send(200, metrics(service, counters), 'text/plain; version=0.0.4')
    if (url.pathname === '/admin/deploy' && req.method === 'POST') {
      const next = url.searchParams.get('version')
      if (!next) return send(400, {error: 'version is required: POST /admin/deploy?version=V'})
      deploying = next
      clearTimeout(deployTimer)
      deployTimer = setTimeout(() => {
        version = next
        deploying = null
      }, deployMs)
      return send(202, {deploying: next, from: version})
    }
    if (UNCOUNTED.some((prefix) => url.pathname.startsWith(prefix))) return send(404, {error: 'not found'})

    served++
    const status = failVersions.has(version) && FAILING_SLOTS.has(served % 10) ? 500 : 200
    count(status)
    if (status === 500) return send(500, {service, version, host: name, error: 'injected failure'})
    return send(200, {service, version, host: name})
  })
  // longer than the proxies' idle timeouts, so a kept-alive socket is not closed under a request
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = server.address().port
  name ??= `${service}-${port}`

  return {
    port,
    state: () => ({version, deploying}),
    close: () =>
      new Promise((resolve) => {
        clearTimeout(deployTimer)
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function metrics(service, counters) {
  const lines = [
    '# HELP http_requests_total Requests served, by version and status code.',
    '# TYPE http_requests_total counter',
  ]
  for (const [key, value] of counters) {
    const [version, code] = key.split('\u0000')
    lines.push(`http_requests_total{service="${label(service)}",version="${label(version)}",code="${code}"} ${value}`)
  }
  return lines.join('\n') + '\n'
}

function label(value) {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

async function main() {
  const {values} = parseArgs({
    options: {
      port: {type: 'string', default: '0'},
      host: {type: 'string', default: '127.0.0.1'},
      version: {type: 'string', default: 'v1'},
      service: {type: 'string', default: 'demo'},
      name: {type: 'string'},
      'fail-versions': {type: 'string', default: ''},
      // set by `gray demo`: when the parent goes away (even killed), stdin closes and so do we
      'exit-with-stdin': {type: 'boolean', default: false},
    },
  })
  const failVersions = values['fail-versions'].split(',').map((v) => v.trim()).filter(Boolean)
  const running = await startService({
    port: Number(values.port),
    host: values.host,
    version: values.version,
    service: values.service,
    name: values.name,
    failVersions,
  })
  const stop = () => running.close().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (values['exit-with-stdin']) {
    process.stdin.on('end', stop).on('close', stop).resume()
  }
  process.stdout.write(JSON.stringify({ready: true, port: running.port}) + '\n')
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`demo service: ${error.message}\n`)
    process.exit(1)
  })
}
