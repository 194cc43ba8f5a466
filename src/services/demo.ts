// `gray demo`: a whole rollout on this machine — three sample services (two
// stable, one gray), the sandbox gateway in front, steady traffic from many
// users, gates on the services' own /metrics — driven by the real engine.
import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {SandboxGateway} from '../adapters/gateways/sandbox/index.js'
import {startSandbox} from '../adapters/gateways/sandbox/server.js'
import {configFromObject} from '../core/config/load.js'
import type {GrayConfig, SandboxGatewayConfig} from '../core/config/model.js'
import {plainPolicy} from '../core/run/policy.js'
import {startLoad, type LoadStats} from '../demo/load.js'
import {demoScript, startDemoServices} from '../demo/services.js'
import {contextOf} from './context.js'
import type {Observer} from './drive.js'
import {startRun} from './start.js'
import {statusOf, type StatusDocument} from './status.js'

export interface DemoOptions {
  fail: boolean
  observe?: Observer
  note?: (line: string) => void
  onSignal?: (signal: string) => void
  /** the demo's config, once written (the display reads its gates from it) */
  onConfig?: (config: GrayConfig) => void
  /** seconds each step bakes */
  bakeSeconds?: number
}

export interface DemoResult {
  status: StatusDocument
  exitCode: number
  load: LoadStats
  dir: string
  elapsedMs: number
}

const hostPort = (url: string) => new URL(url).host

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const began = Date.now()
  const note = options.note ?? (() => undefined)
  const dir = await mkdtemp(join(tmpdir(), 'gray-demo-'))
  const services = await startDemoServices({stable: 2, gray: 1, version: 'v1', failVersions: options.fail ? ['v2'] : [], service: 'demo'})
  const stopping = new AbortController()
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined
  let load: ReturnType<typeof startLoad> | undefined
  try {
    sandbox = await startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0'})
    const bake = `${options.bakeSeconds ?? 5}s`
    const input = {
      service: 'demo',
      state: {dir: join(dir, '.gray')},
      hosts: {stable: services.stable, gray: services.gray},
      deploy: {
        command: [process.execPath, demoScript('deploy.mjs'), '{host.address}', '{version}'],
        concurrency: 2,
        timeout: '20s',
        health: {url: 'http://{host.address}/healthz', expect: 200, timeout: '10s', interval: '200ms'},
      },
      gateway: {type: 'sandbox', listen: hostPort(sandbox.listenUrl), admin: hostPort(sandbox.adminUrl)},
      traffic: {sticky: 'cookie:uid', rules: [{header: 'X-Gray', equals: '1'}], tag: {header: 'X-Gray-Tag', value: 'gray'}},
      steps: [1, 10, 50, 100].map((weight) => ({weight, bake})),
      metrics: {hosts: {type: 'scrape'}},
      gates: {
        interval: '1s',
        window: '5s',
        checks: [
          {
            name: 'backend-5xx',
            source: 'hosts',
            errors: 'http_requests_total{code=~"5.."}',
            total: 'http_requests_total',
            max: 0.02,
            baseline: {maxIncrease: 2},
            minSamples: 10,
            failures: 2,
            minPasses: 3,
          },
        ],
      },
    }
    const file = join(dir, 'gray.yaml')
    await writeFile(file, `# written by gray demo; the services it names are gone once the demo ends\n${JSON.stringify(input, null, 2)}\n`)
    const config = configFromObject(input, file)
    const ctx = contextOf(config)
    options.onConfig?.(config)
    // Before the run the gateway serves the plain policy, as a real fleet would.
    await new SandboxGateway(config.gateway as SandboxGatewayConfig, config.service).publish(plainPolicy(config, {runId: 'before-demo', lastSeq: 0}))
    load = startLoad({url: sandbox.listenUrl, rps: 200, users: 5_000, grayHeaderShare: 0.05, signal: stopping.signal})
    note(`demo: 2 stable + 1 gray sample services, sandbox gateway at ${sandbox.listenUrl}, 200 requests/s from 5,000 users (5% testers with X-Gray: 1)`)
    note(`demo: rolling out v2${options.fail ? ', which fails 30% of requests' : ''}; journal in ${join(dir, '.gray')}`)
    await delay(1_000)
    const result = await startRun(ctx, {version: 'v2', previousVersion: 'v1', observe: options.observe, handleSignals: true, onSignal: options.onSignal})
    const status = await statusOf(ctx, {runId: result.runId})
    return {status, exitCode: result.exitCode, load: load.stats(), dir, elapsedMs: Date.now() - began}
  } finally {
    stopping.abort()
    await load?.stop().catch(() => undefined)
    await sandbox?.close().catch(() => undefined)
    await services.stop().catch(() => undefined)
  }
}
