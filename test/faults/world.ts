// A small real world for crash tests: three sample services (child processes),
// the sandbox gateway in its own process (so killing a driver leaves it up),
// steady traffic, and a fast gray.yaml per case.
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {SandboxGateway} from '../../src/adapters/gateways/sandbox/index.js'
import {configFromObject} from '../../src/core/config/load.js'
import type {Host} from '../../src/core/config/model.js'
import type {JournalEvent} from '../../src/core/ports.js'
import {plainPolicy} from '../../src/core/run/policy.js'
import {replay, type RunState} from '../../src/core/run/state.js'
import {startLoad, type Load} from '../../src/demo/load.js'
import {demoScript, startDemoServices, type DemoServices} from '../../src/demo/services.js'
import {readJournal} from '../../src/state/journal.js'
import {ServiceStore} from '../../src/state/store.js'
import {BIN} from '../support/cli.js'

export const SERVICE = 'shop'
/** a version the sample services fail 30% of requests with */
export const BAD = 'v2-bad'

export interface World {
  services: DemoServices
  hosts: Host[]
  listen: string
  admin: string
  load: Load
  stop(): Promise<void>
  /** every host back on v1 and the gateway on its plain policy */
  reset(): Promise<void>
}

export async function startWorld(): Promise<World> {
  const services = await startDemoServices({stable: 2, gray: 1, version: 'v1', failVersions: [BAD], service: SERVICE})
  const sandbox: ResultPromise = execa(process.execPath, [BIN, 'sandbox', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {reject: false})
  const ready = await new Promise<{listen: string; admin: string}>((resolve) => sandbox.stdout?.once('data', (b: Buffer) => resolve(JSON.parse(String(b)))))
  const stopLoad = new AbortController()
  const hosts = [...services.gray, ...services.stable]
  const world: World = {
    services,
    hosts,
    listen: new URL(ready.listen).host,
    admin: new URL(ready.admin).host,
    // a lost request is one refused or reset; an answer slower than 5 s on a starved machine is not lost
    load: startLoad({url: ready.listen, rps: 80, users: 2000, grayHeaderShare: 0.2, requestTimeoutMs: 15_000, signal: stopLoad.signal}),
    async reset() {
      await Promise.all(hosts.map((h) => execa(process.execPath, [demoScript('deploy.mjs'), h.address, 'v1'])))
      const config = configFromObject(configInput(world, '/tmp/x'), '/tmp/x/gray.yaml')
      await new SandboxGateway({type: 'sandbox', listen: world.listen, admin: world.admin}, SERVICE).publish(plainPolicy(config, {runId: 'reset', lastSeq: Date.now()}))
    },
    async stop() {
      stopLoad.abort()
      await world.load.stop()
      sandbox.kill('SIGTERM')
      await sandbox.catch(() => undefined)
      await services.stop()
    },
  }
  await world.reset()
  return world
}

export function configInput(world: World, dir: string, extra: Record<string, unknown> = {}) {
  return {
    service: SERVICE,
    state: {dir: path.join(dir, '.gray')},
    hosts: {stable: world.services.stable, gray: world.services.gray},
    deploy: {
      command: [process.execPath, demoScript('deploy.mjs'), '{host.address}', '{version}'],
      concurrency: 2,
      timeout: '20s',
      health: {url: 'http://{host.address}/healthz', timeout: '10s', interval: '100ms'},
    },
    gateway: {type: 'sandbox', listen: world.listen, admin: world.admin},
    traffic: {sticky: 'cookie:uid', rules: [{header: 'X-Gray', equals: '1'}]},
    steps: [
      {weight: 1, bake: '500ms'},
      {weight: 50, bake: '500ms', hosts: 1},
      {weight: 100, bake: '500ms'},
    ],
    metrics: {hosts: {type: 'scrape'}},
    gates: {
      interval: '250ms',
      window: '3s',
      checks: [{name: 'errors', source: 'hosts', errors: 'http_requests_total{code=~"5.."}', total: 'http_requests_total', max: 0.05, minSamples: 3, minPasses: 2}],
    },
    ...extra,
  }
}

/** A fresh directory with a gray.yaml for one case. */
export function caseDir(world: World, extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-fault-'))
  writeFileSync(path.join(dir, 'gray.yaml'), JSON.stringify(configInput(world, dir, extra), null, 2))
  return dir
}

export async function journalOf(dir: string): Promise<{events: JournalEvent[]; state: RunState | null}> {
  const store = new ServiceStore(path.join(dir, '.gray'), SERVICE)
  const id = (await store.listRuns()).at(-1)
  if (!id) return {events: [], state: null}
  const {events} = await readJournal(store.runPath(id))
  return {events, state: replay(events)}
}

export async function servedPolicy(world: World): Promise<{revision: string; mode: string; weightBasisPoints: number}> {
  const r = await fetch(`http://${world.admin}/v1/policy/${SERVICE}`)
  return (await r.json()) as {revision: string; mode: string; weightBasisPoints: number}
}

export async function hostVersion(host: Host): Promise<string> {
  const r = await fetch(`http://${host.address}/healthz`)
  return ((await r.json()) as {version: string}).version
}
