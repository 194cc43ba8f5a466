// A driver killed with SIGKILL mid-bake, taken over by `gray start` again; and
// `gray rollback` from another terminal acted on by the live driver.
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import type {JournalEvent} from '../../src/core/ports.js'
import {startLoad, type Load} from '../../src/demo/load.js'
import {demoScript, startDemoServices, type DemoServices} from '../../src/demo/services.js'
import {readJournal} from '../../src/state/journal.js'
import {ServiceStore} from '../../src/state/store.js'
import {BIN, gray, run} from '../support/cli.js'

let dir: string
let services: DemoServices
let sandbox: ResultPromise
let load: Load
let stop: AbortController

async function journal(): Promise<JournalEvent[]> {
  const store = new ServiceStore(path.join(dir, '.gray'), 'shop')
  const id = (await store.listRuns()).at(-1)
  return id ? (await readJournal(store.runPath(id))).events : []
}

async function until(what: string, test: (events: JournalEvent[]) => boolean, timeoutMs = 30_000): Promise<JournalEvent[]> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const events = await journal().catch(() => [])
    if (events.length && test(events)) return events
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await delay(100)
  }
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gray-takeover-'))
  services = await startDemoServices({stable: 2, gray: 1, version: 'v1', service: 'shop'})
  sandbox = execa(process.execPath, [BIN, 'sandbox', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state-file', path.join(dir, 'sandbox.json')], {reject: false})
  const ready = await new Promise<{listen: string; admin: string}>((resolve) => sandbox.stdout?.once('data', (b: Buffer) => resolve(JSON.parse(String(b)))))
  const host = (url: string) => new URL(url).host
  const hosts = (list: Array<{name: string; address: string}>) => list.map((h) => `{name: ${h.name}, address: "${h.address}"}`).join(', ')
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    `service: shop
hosts: {stable: [${hosts(services.stable)}], gray: [${hosts(services.gray)}]}
deploy:
  command: ["${process.execPath}", "${demoScript('deploy.mjs')}", "{host.address}", "{version}"]
  health: {url: "http://{host.address}/healthz", interval: 200ms, timeout: 10s}
gateway: {type: sandbox, listen: "${host(ready.listen)}", admin: "${host(ready.admin)}"}
traffic: {sticky: "cookie:uid", rules: [{header: X-Gray, equals: "1"}]}
steps: [{weight: 1, bake: 2s}, {weight: 10, bake: 6s}, {weight: 100, bake: 2s}]
metrics: {hosts: {type: scrape}}
gates:
  interval: 500ms
  window: 5s
  checks: [{name: errors, source: hosts, errors: 'http_requests_total{code=~"5.."}', total: http_requests_total, max: 0.05, minSamples: 5, minPasses: 2}]
`,
  )
  stop = new AbortController()
  load = startLoad({url: ready.listen, rps: 100, users: 2000, grayHeaderShare: 0.1, signal: stop.signal})
})

afterEach(async () => {
  stop.abort()
  await load.stop()
  sandbox.kill('SIGTERM')
  await sandbox.catch(() => undefined)
  await services.stop()
})

describe('crash and takeover', () => {
  it('kill -9 during a bake, then `gray start` again continues at the same step and completes', async () => {
    const first = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    await until('the bake of step 2', (events) => {
      const s = replay(events)
      return s.stepIndex === 1 && s.status === 'baking'
    })
    first.kill('SIGKILL')
    await first
    const second = await run(['start', '--version', 'v2', '--yes', '--json'], {cwd: dir, timeoutMs: 90_000})
    expect(second.exitCode, second.stderr).toBe(0)
    const events = await journal()
    const steps = events.filter((e) => e.type === 'step.started').map((e) => e.data.index)
    expect(steps).toEqual([0, 1, 2])
    const takeover = events.filter((e) => e.type === 'driver.attached')
    expect(takeover).toHaveLength(2)
    expect(takeover[1]!.data.takeover).toBe(true)
    // the gray host was deployed with v2 once, by the first driver
    const grayDeploys = events.filter((e) => e.type === 'host.deploy.succeeded' && e.data.host === services.gray[0]!.address && e.data.version === 'v2')
    expect(grayDeploys).toHaveLength(1)
    expect(JSON.parse(second.stdout).run.state).toBe('completed')
    events.forEach((e, i) => expect(e.seq).toBe(i + 1))
  })

  it('`gray rollback` from another terminal is taken by the live driver within a second', async () => {
    const driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    await until('the bake of step 1', (events) => replay(events).status === 'baking')
    const r = await run(['rollback', '--yes', '--reason', 'pager says so', '--json'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(3)
    const driven = await driver
    expect(driven.exitCode).toBe(3)
    const events = await journal()
    const received = events.find((e) => e.type === 'request.received')!
    const driverPid = events.find((e) => e.type === 'driver.attached')!.actor.pid
    expect(received.actor.pid).toBe(driverPid)
    const zero = events.find((e) => e.type === 'gateway.publish.confirmed' && e.data.purpose === 'rollback')!
    // posted → gateway at weight 0; the bench measures the figure (well under a second), this bound only catches a driver that does not listen
    expect(Date.parse(zero.at) - Date.parse(String(received.data.requestedAt))).toBeLessThan(3_000)
    expect(replay(events).reason).toBe('pager says so')
    expect(JSON.parse(r.stdout).run.hosts.map((h: {version: string}) => h.version)).toEqual(['v1', 'v1', 'v1'])
  })
})
