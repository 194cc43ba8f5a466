// Hosts through bin/run.js with real demo services as hosts: the gray pool
// grows with the steps and completion leaves every host on the new version; a
// rollback at 50% puts every changed host back; a driver killed mid-deploy and
// taken over deploys no host twice.
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {demoScript, startDemoServices, type DemoServices} from '../../src/demo/services.js'
import {readJournal} from '../../src/state/journal.js'
import {ServiceStore} from '../../src/state/store.js'
import {BIN, gray, run} from '../support/cli.js'
import {yamlHosts} from '../support/live.js'

let dir: string
let services: DemoServices
let sandbox: ResultPromise

const all = () => [...services.gray, ...services.stable]

async function journal(): Promise<JournalEvent[]> {
  const store = new ServiceStore(path.join(dir, '.gray'), 'shop')
  const id = (await store.listRuns()).at(-1)
  return id ? (await readJournal(store.runPath(id))).events : []
}

/** What each service says it runs, asked over HTTP: the ground truth, not the journal's word. */
async function versions(): Promise<string[]> {
  return Promise.all(all().map(async (h) => ((await (await fetch(`http://${h.address}/healthz`)).json()) as {version: string}).version))
}

/** Deploys as the deploy command saw them (address version per line), written before each deploy runs. */
function deploys(): Array<{address: string; version: string}> {
  const text = readFileSync(path.join(dir, 'deploys.log'), {encoding: 'utf8', flag: 'a+'})
  return text.split('\n').filter(Boolean).map((line) => {
    const [address = '', version = ''] = line.split(' ')
    return {address, version}
  })
}

const count = (address: string, version: string) => deploys().filter((d) => d.address === address && d.version === version).length

function writeConfig(steps: string, concurrency = 2): void {
  const hosts = yamlHosts
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    `service: shop
hosts: {stable: [${hosts(services.stable)}], gray: [${hosts(services.gray)}]}
deploy:
  command: ["${process.execPath}", "${path.join(dir, 'deploy.mjs')}", "{host.address}", "{version}"]
  concurrency: ${concurrency}
  maxUnavailable: 1
  health: {url: "http://{host.address}/healthz", interval: 100ms, timeout: 10s}
gateway: {type: sandbox, listen: "${sandboxAddress.listen}", admin: "${sandboxAddress.admin}"}
steps: ${steps}
`,
  )
}

let sandboxAddress: {listen: string; admin: string}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gray-hosts-'))
  services = await startDemoServices({stable: 4, gray: 1, version: 'v1', service: 'shop'})
  sandbox = execa(process.execPath, [BIN, 'sandbox', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', path.join(dir, 'sandbox.json')], {reject: false})
  const ready = await new Promise<{listen: string; admin: string}>((resolve) => sandbox.stdout?.once('data', (b: Buffer) => resolve(JSON.parse(String(b)))))
  sandboxAddress = {listen: new URL(ready.listen).host, admin: new URL(ready.admin).host}
  // the demo's deploy command, noting each deploy before it runs
  writeFileSync(
    path.join(dir, 'deploy.mjs'),
    `import {appendFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
const [address, version] = process.argv.slice(2)
appendFileSync(${JSON.stringify(path.join(dir, 'deploys.log'))}, address + ' ' + version + '\\n')
const r = spawnSync(process.execPath, [${JSON.stringify(demoScript('deploy.mjs'))}, address, version], {stdio: 'inherit'})
process.exit(r.status ?? 1)
`,
  )
})

afterEach(async () => {
  sandbox.kill('SIGTERM')
  await sandbox.catch(() => undefined)
  await services.stop()
})

describe('hosts through the whole life of a run', () => {
  it('grows the gray pool at each step, then completes: every host runs the new version, each deployed once', async () => {
    writeConfig('[{weight: 10, bake: 1s, hosts: 1}, {weight: 50, bake: 1s, hosts: 2}, {weight: 100, bake: 1s}]')
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json'], {cwd: dir, timeoutMs: 90_000})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await versions()).toEqual(['v2', 'v2', 'v2', 'v2', 'v2'])
    for (const h of all()) expect(count(h.address, 'v2'), h.name).toBe(1)

    const events = await journal()
    const publishes = events.filter((e) => e.type === 'gateway.publish.started')
    const atWeight = (bp: number) => publishes.find((e) => e.data.purpose === 'step' && e.data.weightBp === bp)!
    expect(atWeight(1000).data.gray).toHaveLength(2)
    expect(atWeight(5000).data.gray).toHaveLength(3)
    expect(publishes.at(-1)!.data).toMatchObject({mode: 'plain', purpose: 'complete'})
    expect(publishes.at(-1)!.data.stable).toHaveLength(5)
    // each converted host left the stable upstream before its deploy began
    for (const e of events.filter((x) => x.type === 'host.deploy.started' && x.data.purpose === 'step')) {
      const lastPublish = publishes.filter((p) => p.seq < e.seq).at(-1)!
      expect(lastPublish.data.stable).not.toContain(e.data.host)
    }
    expect(JSON.parse(r.stdout).run.hosts.map((h: {version: string}) => h.version)).toEqual(['v2', 'v2', 'v2', 'v2', 'v2'])
  })

  it('a rollback at 50% puts every host that got the new version back on the previous one', async () => {
    writeConfig('[{weight: 10, bake: 1s, hosts: 1}, {weight: 50, bake: 1s, hosts: 2, pause: true}, {weight: 100, bake: 1s}]')
    const first = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json', '--detach'], {cwd: dir, timeoutMs: 90_000})
    expect(first.exitCode, first.stderr).toBe(4)
    expect((await versions()).filter((v) => v === 'v2')).toHaveLength(3)
    const back = await run(['rollback', '--yes', '--reason', 'checkout errors at 50%', '--json'], {cwd: dir, timeoutMs: 60_000})
    expect(back.exitCode, back.stderr).toBe(3)
    expect(await versions()).toEqual(['v1', 'v1', 'v1', 'v1', 'v1'])
    const changed = all().filter((h) => count(h.address, 'v2') > 0)
    expect(changed).toHaveLength(3)
    for (const h of changed) expect(count(h.address, 'v1'), h.name).toBe(1)
    // the stable hosts never converted were never touched
    expect(all().filter((h) => count(h.address, 'v2') === 0).every((h) => count(h.address, 'v1') === 0)).toBe(true)
    const events = await journal()
    expect(events.find((e) => e.type === 'run.rolled_back')!.data.notReverted).toEqual([])
  })

  it('a driver killed mid-deploy and taken over by `gray start` deploys no host twice but the one in flight', async () => {
    writeConfig('[{weight: 10, bake: 1s, hosts: 2}, {weight: 100, bake: 1s}]', 1)
    const killed = await gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: {GRAY_FAULT: 'after:host.deploy.started#2'}})
    expect(killed.signal).toBe('SIGKILL')
    const atKill = await journal()
    const inFlight = atKill.filter((e) => e.type === 'host.deploy.started').at(-1)!.data.host as string
    expect(atKill.some((e) => e.type === 'host.deploy.succeeded' && e.data.host === inFlight)).toBe(false)

    const second = await run(['start', '--version', 'v2', '--yes', '--json'], {cwd: dir, timeoutMs: 90_000})
    expect(second.exitCode, second.stderr).toBe(0)
    expect(await versions()).toEqual(['v2', 'v2', 'v2', 'v2', 'v2'])
    const events = await journal()
    expect(events.filter((e) => e.type === 'driver.attached').map((e) => e.data.takeover)).toEqual([false, true])
    for (const h of all()) {
      const intents = events.filter((e) => e.type === 'host.deploy.started' && e.data.host === h.address && e.data.version === 'v2').length
      expect(intents, h.name).toBe(h.address === inFlight ? 2 : 1)
      // killed right after its intent was journaled, the in-flight deploy never ran: every host really got v2 once
      expect(count(h.address, 'v2'), h.name).toBe(1)
    }
  })
})
