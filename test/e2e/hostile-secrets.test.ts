// The planted-secrets test of issue 11: a distinct secret in every place a
// ${VAR} can go in gray.yaml — gateway token, metric tokens, the tag header,
// the webhook URL, deploy / hook / metric-command argv, ssh fields — under
// variable names no heuristic calls secret; then real flows of the built CLI
// (validate --connect, plan, start to completion and to rollback, status,
// status --json, history, report, a failing deploy whose program echoes its
// argv, rollback). Every peer is a loopback fake that echoes the credentials
// it receives back (headers, JSON fields, Prometheus warnings, Sentry fields).
// No byte gray wrote — stdout, stderr, --json, journals, logs under .gray/,
// report HTML, webhook bodies received — holds any secret, raw, JSON-escaped,
// URL-encoded or base64; each run's journal keeps its config with every secret
// as its ${VAR} reference.
/* eslint-disable @typescript-eslint/no-explicit-any -- the frozen config is read by field name */
import {createServer, type IncomingMessage, type Server} from 'node:http'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'
import {leaks} from '../support/hostile.js'

const SECRETS = {
  EDGE_BEARER: 'gw-bearer-"q\\uote-A1b2C3',
  PROM_CRED: 'prom-cred-"D4e5F6',
  SENTRY_THING: 'sentry-thing-G7h8I9',
  HOOK_PATH: 'hookpathJ1k2L3m4',
  TAG_VALUE: 'tag-value-N5o6P7',
  DEPLOY_PW: 'deploy-pw-Q8r9S0 with space',
  DEPLOY_K: 'deploy-k/T1u2+V3=',
  HOOK_ARG: 'hook-arg-W4x5Y6',
  METRIC_ARG: 'metric-arg-Z7a8B9',
  SSH_WHO: 'sshwhoC1d2E3',
  SSH_KEYFILE: '/nonexistent/ssh-key-F4g5H6',
  SSH_KH: '/nonexistent/known-hosts-I7j8K9',
}
const ALL = Object.values(SECRETS)

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString('utf8')))
    req.on('end', () => resolve(text))
  })
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as {port: number}).port}`
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {withFileTypes: true}).flatMap((d) => {
    const p = path.join(dir, d.name)
    return d.isDirectory() ? filesUnder(p) : statSync(p).isFile() ? [p] : []
  })
}

describe('a secret planted in every ${VAR} place never leaves gray', () => {
  const servers: Server[] = []
  const webhookBodies: string[] = []
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-planted-'))
  const scripts = mkdtempSync(path.join(tmpdir(), 'gray-planted-bin-'))
  const received = path.join(scripts, 'argv.log')
  const outputs: string[] = []
  const env = {...SECRETS, GRAY_LOCK_STALE_MS: '4000'}
  let hosts: {stable: string[]; gray: string[]} = {stable: [], gray: []}

  beforeAll(async () => {
    // the http control plane: keeps the policy; echoes the bearer it got in a header and a JSON field
    let policy: string | null = null
    const gateway = createServer(async (req, res) => {
      const sent = await body(req)
      const echo = {'x-echo': String(req.headers.authorization ?? '')}
      if (req.method === 'PUT') {
        policy = sent
        return res.writeHead(200, {...echo, 'content-type': 'application/json'}).end(JSON.stringify({ok: true, you: req.headers.authorization}))
      }
      if (!policy) return res.writeHead(404, {...echo, 'content-type': 'application/json'}).end(JSON.stringify({error: `no policy for ${req.headers.authorization}`}))
      return res.writeHead(200, {...echo, 'content-type': 'application/json'}).end(policy)
    })
    // Prometheus: a value per version, and a warning that echoes the Authorization header
    const prometheus = createServer(async (req, res) => {
      const form = new URLSearchParams(await body(req))
      const value = /bad/.test(form.get('query') ?? '') ? '5' : '0'
      res.writeHead(200, {'content-type': 'application/json'}).end(
        JSON.stringify({status: 'success', data: {resultType: 'vector', result: [{metric: {}, value: [Date.now() / 1000, value]}]}, warnings: [`auth was ${req.headers.authorization}`]}),
      )
    })
    // Sentry release health, echoing the token in the fields gray journals
    const sentry = createServer((req, res) => {
      const auth = String(req.headers.authorization)
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({start: auth, end: auth, groups: [{by: {}, totals: {'crash_free_rate(session)': 1, 'sum(session)': 100}}]}))
    })
    // the webhook: records every body, then refuses it echoing its own URL
    const webhook = createServer(async (req, res) => {
      webhookBodies.push(await body(req))
      res.writeHead(500, {'content-type': 'application/json'}).end(JSON.stringify({error: `bad path ${req.url}`}))
    })
    // the hosts: validate --connect opens a TCP connection to each
    const stableHost = createServer((_req, res) => res.end('ok'))
    const grayHost = createServer((_req, res) => res.end('ok'))
    servers.push(gateway, prometheus, sentry, webhook, stableHost, grayHost)
    const [gw, prom, sen, hook, stableAt, grayAt] = await Promise.all(servers.map(listen))
    hosts = {stable: [stableAt!.replace('http://', '')], gray: [grayAt!.replace('http://', '')]}

    writeFileSync(
      path.join(scripts, 'echo.mjs'),
      `import {appendFileSync} from 'node:fs'
const args = process.argv.slice(2)
appendFileSync(${JSON.stringify(received)}, args.join(' ') + '\\n')
console.log('argv: ' + args.join(' '))
console.error('env-free echo: ' + JSON.stringify(args))
if (args.includes('bad-deploy')) process.exit(1)
`,
    )
    writeFileSync(path.join(scripts, 'metric.mjs'), `console.error('metric argv ' + process.argv.slice(2).join(' ')); console.log('0')\n`)
    const node = process.execPath
    const config = (extra: Record<string, unknown> = {}) => ({
      service: 'shop',
      state: {dir: '.gray'},
      hosts,
      deploy: {command: [node, path.join(scripts, 'echo.mjs'), '{host.address}', '{version}', '--password=${DEPLOY_PW}', '--key', '${DEPLOY_K}'], retries: 0, timeout: '20s'},
      hooks: {
        beforeDeploy: [node, path.join(scripts, 'echo.mjs'), 'hook', '--token=${HOOK_ARG}'],
        onRollback: [node, path.join(scripts, 'echo.mjs'), 'rolled', '${HOOK_ARG}'],
        onComplete: [node, path.join(scripts, 'echo.mjs'), 'done', '${HOOK_ARG}'],
      },
      gateway: {type: 'http', url: `${gw}/policies/{service}`, token: '${EDGE_BEARER}'},
      traffic: {tag: {header: 'X-Gray-Tag', value: '${TAG_VALUE}'}},
      steps: [
        {weight: 50, bake: '300ms'},
        {weight: 100, bake: '300ms'},
      ],
      metrics: {
        prom: {type: 'prometheus', url: prom, token: '${PROM_CRED}', timeout: '20s'},
        crash: {type: 'sentry', url: sen, org: 'acme', project: 'app', token: '${SENTRY_THING}', timeout: '20s'},
        cmd: {type: 'command', command: [node, path.join(scripts, 'metric.mjs'), '--auth=${METRIC_ARG}']},
      },
      gates: {
        interval: '100ms',
        window: '1s',
        checks: [
          {name: 'errors', source: 'prom', query: 'errors{version="{version}"}', max: 1, minSamples: 0, minPasses: 1, critical: true},
          {name: 'crashes', source: 'crash', release: '{version}', min: 0.5, minSamples: 0, minPasses: 1},
          {name: 'cmd', source: 'cmd', query: 'x', max: 1, minSamples: 0, minPasses: 1},
        ],
      },
      notify: [{webhook: `${hook}/services/\${HOOK_PATH}`}],
      ...extra,
    })
    writeFileSync(path.join(dir, 'gray.yaml'), JSON.stringify(config(), null, 2))
    writeFileSync(
      path.join(dir, 'ssh.yaml'),
      JSON.stringify(config({state: {dir: '.gray-ssh'}, hooks: undefined, deploy: {command: ['deploy', '{version}', '${DEPLOY_PW}'], retries: 0, timeout: '20s', ssh: {user: '${SSH_WHO}', identityFile: '${SSH_KEYFILE}', knownHostsFile: '${SSH_KH}', port: 1, connectTimeout: '2s'}}}), null, 2),
    )
    mkdirSync(path.join(dir, 'reports'))
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  })

  async function gray(args: string[], expected: number): Promise<string> {
    const r = await run(args, {cwd: dir, env})
    const text = `$ gray ${args.join(' ')} → ${r.exitCode}\n${r.stdout}\n${r.stderr}`
    outputs.push(text)
    expect(r.exitCode, text).toBe(expected)
    return r.stdout
  }

  it('through validate, plan, a completed run, a rolled-back run, a failed deploy, status, history and reports', async () => {
    await gray(['validate'], 0)
    const connect = JSON.parse(await gray(['validate', '--connect', '--json'], 0)) as {connect: Array<{what: string; ok: boolean}>}
    expect(connect.connect.map((c) => c.ok)).toEqual([true, true, true, true, true, true]) // the gateway, three checks, two hosts
    await gray(['plan', '--version', 'v2'], 0)
    await gray(['plan', '--version', 'v2', '--json'], 0)

    await gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], 0)
    await gray(['status'], 0)
    JSON.parse(await gray(['status', '--json'], 0))
    await gray(['history'], 0)
    await gray(['history', '--json'], 0)
    await gray(['report', '--output', 'reports/completed.html'], 0)

    // the gates fail on this version: the run rolls back by itself
    await gray(['start', '--version', 'v3-bad', '--yes'], 3)
    await gray(['report', '--output', 'reports/rolled-back.html', '--json'], 0)

    // the deploy program echoes its argv (the planted passwords) and fails: the run holds, on-call rolls back
    await gray(['start', '--version', 'bad-deploy', '--yes', '--detach'], 4)
    await gray(['status'], 0)
    await gray(['status', '--json'], 0)
    await gray(['rollback', '--yes', '--reason', 'deploy broke'], 3)
    await gray(['report', '--output', 'reports/deploy.html'], 0)
    await gray(['history', '--json'], 0)

    // ssh fields: ssh is told the user, key and known_hosts file, and fails to connect
    await gray(['validate', '-c', 'ssh.yaml'], 0)
    await gray(['start', '-c', 'ssh.yaml', '--version', 'v2', '--previous-version', 'v1', '--yes', '--detach'], 4)
    await gray(['status', '-c', 'ssh.yaml', '--json'], 0)

    // the secrets were really used: the programs got them, the peers got them, the webhook was called
    const argv = readFileSync(received, 'utf8')
    for (const s of [SECRETS.DEPLOY_PW, SECRETS.DEPLOY_K, SECRETS.HOOK_ARG]) expect(argv).toContain(s)
    expect(webhookBodies.length).toBeGreaterThan(3)
    const all = outputs.join('\n')
    expect(all).toMatch(/rolled back/)
    expect(all).toMatch(/deploy of bad-deploy failed/)

    const written = [
      ...outputs.map((text, i) => ({where: `command ${i}: ${text.split('\n')[0]}`, text})),
      ...filesUnder(dir)
        .filter((f) => !f.endsWith('.yaml'))
        .map((f) => ({where: f, text: readFileSync(f, 'utf8')})),
      ...webhookBodies.map((text, i) => ({where: `webhook body ${i}`, text})),
    ]
    expect(written.filter((w) => w.where.includes('.gray/shop/runs/')).length).toBe(3)
    expect(written.filter((w) => w.where.includes('/logs/')).length).toBeGreaterThan(0)
    expect(written.filter((w) => w.where.endsWith('.html')).length).toBe(3)
    for (const w of written) expect(leaks(w.text, ALL), w.where).toEqual([])
    // each run keeps its effective config, every planted secret as its ${VAR} reference
    const journals = filesUnder(dir).filter((f) => /\/runs\/[^/]+\.ndjson$/.test(f))
    expect(journals.length).toBe(4)
    for (const file of journals) {
      const started = JSON.parse(readFileSync(file, 'utf8').split('\n')[0] as string) as {type: string; data: {effectiveConfig: Record<string, any>; configHash: string}}
      expect(started.type, file).toBe('run.started')
      const frozen = started.data.effectiveConfig
      expect(started.data.configHash, file).toMatch(/^[0-9a-f]{64}$/)
      expect(frozen.gateway.token, file).toBe('${EDGE_BEARER}')
      expect(frozen.traffic.tag.value, file).toBe('${TAG_VALUE}')
      expect(frozen.metrics.prom.token, file).toBe('${PROM_CRED}')
      expect(frozen.metrics.crash.token, file).toBe('${SENTRY_THING}')
      expect(frozen.metrics.cmd.command, file).toContain('--auth=${METRIC_ARG}')
      expect(frozen.notify[0].webhook, file).toMatch(/\/services\/\$\{HOOK_PATH\}$/)
      if (file.includes('.gray-ssh')) {
        expect(frozen.deploy.command, file).toContain('${DEPLOY_PW}')
        expect(frozen.deploy.ssh, file).toMatchObject({user: '${SSH_WHO}', identityFile: '${SSH_KEYFILE}', knownHostsFile: '${SSH_KH}'})
      } else {
        expect(frozen.deploy.command, file).toEqual(expect.arrayContaining(['--password=${DEPLOY_PW}', '${DEPLOY_K}']))
        expect(frozen.hooks.beforeDeploy, file).toContain('--token=${HOOK_ARG}')
      }
    }
    // and the files are private
    for (const f of filesUnder(dir).filter((f) => !f.endsWith('.yaml'))) expect(statSync(f).mode & 0o077, f).toBe(0)
  }, 300_000) // twenty-odd CLI runs: minutes on a loaded two-core machine
})
