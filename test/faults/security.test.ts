// Secrets never reach output, journals or logs; HTTPS checks stay on unless --insecure, which warns.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createServer as createHttps, type Server} from 'node:https'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'
import {ENV} from './kill.js'
import {configInput, startWorld, type World} from './world.js'

const TOKEN = 'planted-s3cret-token-7f3a9c1e'
const HOOK = 'planted-s3cret-hook-path-55aa'

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((d) => {
    const p = path.join(dir, d.name)
    return d.isDirectory() ? filesUnder(p) : statSync(p).isFile() ? [p] : []
  })
}

describe('secrets stay secret', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld()
  })
  afterAll(async () => world.stop())

  it('a planted token and webhook never appear in any output, journal or log', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-secret-'))
    const input = configInput(world, dir, {
      metrics: {hosts: {type: 'scrape'}, crash: {type: 'prometheus', url: 'http://127.0.0.1:9/', token: '${PROM_TOKEN}'}},
      notify: [{webhook: 'http://127.0.0.1:9/${GRAY_WEBHOOK}', on: ['step', 'completed', 'rolled_back', 'paused']}],
    })
    input.gates.checks.push({name: 'needs-token', source: 'crash', query: 'up', min: 0.5, minSamples: 0, minPasses: 1, errorLimit: 2} as never)
    writeFileSync(path.join(dir, 'gray.yaml'), JSON.stringify(input, null, 2))
    const leaky = configInput(world, dir)
    writeFileSync(path.join(dir, 'leaky.yaml'), JSON.stringify({...leaky, hosts: {...leaky.hosts, gray: ['${PROM_TOKEN}']}}))
    writeFileSync(path.join(dir, 'named.yaml'), JSON.stringify({...leaky, service: '${PROM_TOKEN}'}))
    const env = {...ENV, PROM_TOKEN: TOKEN, GRAY_WEBHOOK: HOOK, DEBUG: 'gray*'}
    const outputs: string[] = []
    for (const args of [
      ['validate'],
      ['validate', '--connect', '--json'],
      ['plan', '--version', 'v2', '--json'],
      ['plan', '--version', 'v2'],
      ['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--detach'],
      ['status'],
      ['status', '--json'],
      ['history', '--json'],
      ['rollback', '--yes', '--json'],
      ['validate', '-c', 'leaky.yaml'],
      ['validate', '-c', 'leaky.yaml', '--json'],
      ['validate', '-c', 'named.yaml'],
      ['plan', '-c', 'named.yaml', '--version', 'v2', '--json'],
    ]) {
      const r = await run(args, {cwd: dir, env})
      outputs.push(`$ gray ${args.join(' ')} → ${r.exitCode}\n${r.stdout}\n${r.stderr}`)
    }
    const all = outputs.join('\n')
    // the run really used the secret-bearing parts: the token source was measured and failed
    expect(all).toMatch(/needs-token/)
    expect(all).toMatch(/got a value from \$\{PROM_TOKEN\}/)
    for (const secret of [TOKEN, HOOK]) {
      expect(all, 'command output').not.toContain(secret)
      for (const f of filesUnder(dir).filter((f) => !f.endsWith('.yaml'))) {
        expect(readFileSync(f, 'utf8'), f).not.toContain(secret)
      }
    }
  })
})

describe('HTTPS certificate checks', () => {
  let server: Server
  let url: string
  let dir: string
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gray-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], {stdio: 'ignore'})
    server = createHttps({key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem'))}, (_req, res) => {
      res.writeHead(404, {'content-type': 'application/json'}).end('{"error":"no policy yet"}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as {port: number}).port
    url = `https://127.0.0.1:${port}/policies/{service}`
    // hosts that accept connections, so --connect fails only on the certificate
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      `service: shop\nhosts: {stable: ["127.0.0.1:${port}"], gray: ["localhost:${port}"]}\ndeploy: {command: ["true"]}\ngateway: {type: http, url: "${url}"}\n`,
    )
  })
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())))

  it('refuses a self-signed certificate by default', async () => {
    const r = await run(['validate', '--connect', '--json'], {cwd: dir})
    expect(r.exitCode).toBe(1)
    expect(JSON.parse(r.stdout).connect[0]).toMatchObject({ok: false, detail: expect.stringMatching(/certificate/i)})
    expect(r.stderr).not.toMatch(/certificate checks are OFF/)
  })

  it('--insecure turns the check off and warns', async () => {
    const r = await run(['validate', '--connect', '--json', '--insecure'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).connect[0]).toMatchObject({ok: true})
    expect(r.stderr).toMatch(/warning: HTTPS certificate checks are OFF/)
  })
})
