// `gray cohort serve` under load, on one core: requests/s and p99 for a user
// asked again and again (answered from the cache), for a new user every
// request (every answer decided), and with the cache off; against a bare
// node:http server sending a same-sized JSON answer, pinned and loaded the same
// way in the same run. wrk when installed (apt-get install wrk), else a
// keep-alive Node client in this process (then the client shares the machine).
import {execa, type ResultPromise} from 'execa'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {Agent, request} from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'

import {configFromObject} from '../../src/core/config/load.js'
import {runStarted} from '../../src/core/run/begin.js'
import {LocalBackend} from '../../src/state/local.js'
import {newRunId} from '../../src/state/store.js'

type Figures = Record<string, string>

const DURATION_S = 5
const CONNECTIONS = 32

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const pinned = (core: number, argv: string[]): string[] => (has('taskset') ? ['taskset', '-c', String(core), ...argv] : argv)

/** starts a server process that prints {"listen": url} on its first line */
async function server(argv: string[], cwd?: string): Promise<{url: string; child: ResultPromise}> {
  const [file, ...args] = pinned(0, argv) as [string, ...string[]]
  const child = execa(file, args, {cwd, reject: false, env: {CI: '1', NO_COLOR: '1'}, stdin: 'ignore'})
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({input: child.stdout!}).once('line', resolve)
    child.once('exit', () => reject(new Error(`${argv.join(' ')} exited before it was ready`)))
  })
  return {url: (JSON.parse(line) as {listen: string}).listen, child}
}

const BARE = `const http = require('node:http')
const body = JSON.stringify(${JSON.stringify({service: 'bench', gray: false, cohort: 'stable', tag: null, revision: 'r0000000000000000000.4', run: {id: 'r0000000000000000000', state: 'baking', weightBasisPoints: 1000}, why: 'weight', rule: null, bucket: 4242})}) + '\\n'
const s = http.createServer((req, res) => { res.writeHead(200, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body)}); res.end(body) })
s.keepAliveTimeout = 30000
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({listen: 'http://127.0.0.1:' + s.address().port})))`

interface Load {
  rps: number
  p99Ms: number
}

const NEW_USER_LUA = `request = function() return wrk.format("GET", wrk.path .. "?uid=u" .. math.random(1, 1000000000)) end`

async function wrk(url: string, newUser: boolean, dir: string): Promise<Load> {
  const script = path.join(dir, 'new-user.lua')
  writeFileSync(script, NEW_USER_LUA)
  const [file, ...args] = pinned(1, ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency', ...(newUser ? ['-s', script] : []), newUser ? url : `${url}?uid=u42`]) as [string, ...string[]]
  const {stdout} = await execa(file, args)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1])
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(stdout)
  const scale = {us: 0.001, ms: 1, s: 1000}[(p99?.[2] ?? 'ms') as 'us' | 'ms' | 's']
  return {rps, p99Ms: Number(p99?.[1]) * scale}
}

/** the fallback: CONNECTIONS keep-alive loops for DURATION_S */
async function nodeLoad(url: string, newUser: boolean): Promise<Load> {
  const agent = new Agent({keepAlive: true, maxSockets: CONNECTIONS})
  const latencies: number[] = []
  const end = performance.now() + DURATION_S * 1000
  const once = (target: string) =>
    new Promise<void>((resolve, reject) => {
      request(target, {agent}, (res) => {
        res.resume()
        res.on('end', resolve)
      })
        .on('error', reject)
        .end()
    })
  await Promise.all(
    Array.from({length: CONNECTIONS}, async () => {
      while (performance.now() < end) {
        const t = performance.now()
        await once(`${url}?uid=${newUser ? `u${Math.floor(Math.random() * 1e9)}` : 'u42'}`)
        latencies.push(performance.now() - t)
      }
    }),
  )
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {rps: latencies.length / DURATION_S, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? NaN}
}

export async function benchCohort(): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-bench-cohort-'))
  const file = path.join(dir, 'gray.yaml')
  writeFileSync(
    file,
    'service: bench\nhosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}\ndeploy: {command: ["true"]}\ngateway: {type: sandbox}\ntraffic:\n  sticky: cookie:uid\n  rules: [{header: X-Gray, equals: "1"}, {ip: [10.9.0.0/16]}]\n  tag: {header: X-Gray-Tag, value: gray}\n',
  )
  // a run at 10%, so answers are decided by rules and the hash
  const config = configFromObject({service: 'bench', state: {dir: path.join(dir, '.gray')}, hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']}, deploy: {command: ['true']}, gateway: {type: 'sandbox'}}, file)
  const backend = new LocalBackend(path.join(dir, '.gray'))
  const lease = await backend.acquireLease('bench', {user: 'bench', host: 'bench', pid: process.pid, ci: false, kind: 'cli'}, {ttlMs: 60_000})
  const runId = newRunId()
  await backend.createRun('bench', runId, lease, {type: 'run.started', data: runStarted(config, runId, 'v2', 'v1') as never})
  const publish = {revision: `${runId}.4`, weightBp: 1000, mode: 'split', purpose: 'step', step: 0}
  await backend.append('bench', runId, lease, [
    {type: 'step.started', data: {index: 0, weight: 10}},
    {type: 'gateway.publish.started', data: {...publish, rules: 2, gray: ['127.0.0.1:10'], stable: ['127.0.0.1:9']}},
    {type: 'gateway.publish.confirmed', data: publish},
  ])
  await lease.release()
  await backend.close()

  const load = has('wrk') ? (url: string, newUser: boolean) => wrk(url, newUser, dir) : nodeLoad
  const figures: Figures = {tool: has('wrk') ? `wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s; servers pinned to core 0, wrk to core 1` : `node keep-alive client, ${CONNECTIONS} connections, ${DURATION_S}s (wrk not installed)`}
  const show = (name: string, l: Load, base?: Load) => {
    figures[name] = `${Math.round(l.rps).toLocaleString('en')} req/s, p99 ${l.p99Ms.toFixed(2)} ms${base ? ` (${(l.rps / base.rps).toFixed(2)}x the baseline's req/s)` : ''}`
  }

  const bare = await server([process.execPath, '-e', BARE])
  let baseline: Load
  try {
    baseline = await load(bare.url, false)
    show('bare node:http, fixed answer (baseline)', baseline)
  } finally {
    bare.child.kill('SIGTERM')
    await bare.child
  }
  const bin = path.resolve('bin/run.js')
  for (const [name, cache, newUser] of [
    ['cohort serve, same user (cached)', 10_000, false],
    ['cohort serve, a new user every request', 10_000, true],
    ['cohort serve, cache off, same user', 0, false],
  ] as const) {
    const s = await server([process.execPath, bin, 'cohort', 'serve', '--listen', '127.0.0.1:0', '--cache-size', String(cache)], dir)
    try {
      show(name, await load(`${s.url}/v1/cohort/bench`, newUser), baseline)
    } finally {
      s.child.kill('SIGTERM')
      await s.child
    }
  }
  return figures
}
