// A live environment for end-to-end tests of commands that read or steer a run:
// real sample services, the sandbox gateway as its own `gray sandbox` process,
// steady traffic, and a gray.yaml in a fresh temp dir.
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import type {Host} from '../../src/core/config/model.js'
import type {JournalEvent} from '../../src/core/ports.js'
import {startLoad, type Load} from '../../src/demo/load.js'
import {demoScript, startDemoServices, type DemoServices} from '../../src/demo/services.js'
import {readJournal} from '../../src/state/journal.js'
import {ServiceStore} from '../../src/state/store.js'
import {BIN} from './cli.js'

export interface LiveOptions {
  service?: string
  /** YAML flow list of steps */
  steps?: string
  /** versions that answer 500 to about 30% of requests */
  failVersions?: string[]
  /** more top-level YAML (notify: …) */
  extra?: string
}

export interface Live {
  dir: string
  service: string
  listenUrl: string
  adminUrl: string
  /** the sample services, as gray.yaml lists them */
  hosts: {stable: Host[]; gray: Host[]}
  journal(): Promise<JournalEvent[]>
  until(what: string, test: (events: JournalEvent[]) => boolean, timeoutMs?: number): Promise<JournalEvent[]>
  stop(): Promise<void>
}

/** hosts as the items of a YAML flow list: `{name: a, address: "127.0.0.1:80"}, …` */
export function yamlHosts(list: Host[]): string {
  return list.map((h) => `{name: ${h.name}, address: "${h.address}"}`).join(', ')
}

export const QUICK_STEPS = '[{weight: 1, bake: 2s}, {weight: 10, bake: 3s}, {weight: 100, bake: 1s}]'

export async function startLive(options: LiveOptions = {}): Promise<Live> {
  const service = options.service ?? 'shop'
  const dir = mkdtempSync(path.join(tmpdir(), `gray-live-${service}-`))
  const services: DemoServices = await startDemoServices({stable: 2, gray: 1, version: 'v1', service, failVersions: options.failVersions})
  const sandbox: ResultPromise = execa(process.execPath, [BIN, 'sandbox', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', path.join(dir, 'sandbox.json')], {reject: false})
  const ready = await new Promise<{listen: string; admin: string}>((resolve, reject) => {
    sandbox.stdout?.once('data', (b: Buffer) => resolve(JSON.parse(String(b))))
    void sandbox.then((r) => reject(new Error(`gray sandbox exited: ${String(r.stderr)}`)))
  })
  const host = (url: string) => new URL(url).host
  const hosts = yamlHosts
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    `service: ${service}
hosts: {stable: [${hosts(services.stable)}], gray: [${hosts(services.gray)}]}
deploy:
  command: ["${process.execPath}", "${demoScript('deploy.mjs')}", "{host.address}", "{version}"]
  health: {url: "http://{host.address}/healthz", interval: 200ms, timeout: 10s}
gateway: {type: sandbox, listen: "${host(ready.listen)}", admin: "${host(ready.admin)}"}
traffic: {sticky: "cookie:uid", rules: [{header: X-Gray, equals: "1"}]}
steps: ${options.steps ?? QUICK_STEPS}
metrics: {hosts: {type: scrape}}
gates:
  interval: 500ms
  window: 5s
  checks: [{name: errors, source: hosts, errors: 'http_requests_total{code=~"5.."}', total: http_requests_total, max: 0.05, minSamples: 5, minPasses: 2}]
${options.extra ?? ''}`,
  )
  const stopLoad = new AbortController()
  const load: Load = startLoad({url: ready.listen, rps: 100, users: 2000, grayHeaderShare: 0.1, signal: stopLoad.signal})
  const store = new ServiceStore(path.join(dir, '.gray'), service)
  const journal = async (): Promise<JournalEvent[]> => {
    const id = (await store.listRuns()).at(-1)
    return id ? (await readJournal(store.runPath(id))).events : []
  }
  return {
    dir,
    service,
    listenUrl: ready.listen,
    adminUrl: ready.admin,
    hosts: {stable: services.stable, gray: services.gray},
    journal,
    // a wait for journal events: the budget only runs out for a run that is stuck (at a load of 20 on two cores a
    // CLI start alone takes 25 s)
    async until(what, test, timeoutMs = 150_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const events = await journal().catch(() => [])
        if (events.length && test(events)) return events
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await delay(100)
      }
    },
    async stop() {
      stopLoad.abort()
      await load.stop()
      sandbox.kill('SIGTERM')
      await sandbox.catch(() => undefined)
      await services.stop()
    },
  }
}
