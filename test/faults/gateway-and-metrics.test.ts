// Gateway and metric faults with real processes: a step never advances on an
// unconfirmed publish, a rollback publish keeps trying (and says so), and a
// source that cannot be read never lets a run be promoted.
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {gray, run} from '../support/cli.js'
import {startChaos, type Chaos} from './chaos.js'
import {ENV} from './kill.js'
import {caseDir, configInput, hostVersion, journalOf, servedPolicy, startWorld, type World} from './world.js'

let world: World
let chaos: Chaos
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())
beforeEach(async () => {
  await world.reset()
  chaos = await startChaos(world.admin)
})
afterEach(async () => chaos.stop())

function viaChaos(extra: Record<string, unknown> = {}) {
  return caseDir(world, {gateway: {type: 'sandbox', listen: world.listen, admin: chaos.address}, ...extra})
}

describe('gateway faults', () => {
  it('5xx answers are retried with backoff; no step advances before its publish is confirmed', async () => {
    const dir = viaChaos()
    chaos.fail5xxPuts = 3
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    expect(r.exitCode, r.stderr).toBe(0)
    const {events} = await journalOf(dir)
    expect(events.filter((e) => e.type === 'gateway.publish.failed')).toHaveLength(3)
    for (const passed of events.filter((e) => e.type === 'step.passed')) {
      const confirmed = events.find((e) => e.type === 'gateway.publish.confirmed' && e.data.purpose === 'step' && e.data.step === passed.data.index)
      expect(confirmed, `step ${passed.data.index}`).toBeDefined()
      expect(confirmed!.seq).toBeLessThan(passed.seq)
    }
  })

  it('a gateway that keeps refusing holds the run at the last confirmed weight (--detach: exit 4)', async () => {
    const dir = viaChaos()
    const driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--detach'], {cwd: dir, env: ENV})
    for (;;) {
      const {state} = await journalOf(dir)
      if (state?.stepIndex === 0 && state.status === 'baking') break
      await delay(50)
    }
    chaos.mode = '5xx'
    const out = await driver
    expect(out.exitCode).toBe(4)
    const {state, events} = await journalOf(dir)
    expect(state!.reason).toMatch(/gateway did not take the policy/)
    expect(events.some((e) => e.type === 'step.passed' && e.data.index === 1)).toBe(false)
    chaos.mode = 'pass'
    expect((await servedPolicy(world)).revision).toBe(state!.applied!.revision)
  })

  it('slow answers still confirm', async () => {
    const dir = viaChaos()
    chaos.mode = 'slow'
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    expect(r.exitCode, r.stderr).toBe(0)
  })

  it('a rollback publish keeps trying while the gateway refuses connections, says so loudly, and lands once it is back', async () => {
    const dir = viaChaos({steps: [{weight: 10, bake: '60s'}, {weight: 100, bake: '1s'}]})
    const driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    for (;;) {
      const {state} = await journalOf(dir)
      if (state?.status === 'baking') break
      await delay(50)
    }
    chaos.mode = 'refuse'
    const rollback = gray(['rollback', '--yes', '--reason', 'gateway drill'], {cwd: dir, env: ENV})
    const end = Date.now() + 60_000
    for (;;) {
      const {events} = await journalOf(dir)
      if (events.filter((e) => e.type === 'gateway.publish.failed' && e.data.purpose === 'rollback').length >= 3) break
      if (Date.now() > end) throw new Error(`no failing rollback publishes: ${events.slice(-5).map((e) => e.type).join(', ')}`)
      await delay(100)
    }
    chaos.mode = 'pass'
    const [d, r] = await Promise.all([driver, rollback])
    expect(d.exitCode).toBe(3)
    expect(r.exitCode).toBe(3)
    expect(String(d.stderr)).toMatch(/ROLLBACK PUBLISH FAILED \(attempt 1\).*traffic may still reach gray/)
    const {state} = await journalOf(dir)
    expect((await servedPolicy(world)).revision).toBe(state!.applied!.revision)
    for (const h of world.hosts) expect(await hostVersion(h)).toBe('v1')
  })
})

describe('metric faults', () => {
  it('a source that cannot be read is never a pass: the run holds after errorLimit and is not promoted', async () => {
    const dir = caseDir(world)
    const input = configInput(world, dir, {metrics: {hosts: {type: 'scrape'}, prom: {type: 'prometheus', url: 'http://127.0.0.1:9/', timeout: '1s'}}})
    input.gates.checks = [{name: 'down', source: 'prom', errors: 'sum(x)', total: 'sum(y)', max: 0.01, errorLimit: 3} as never]
    writeFileSync(path.join(dir, 'gray.yaml'), JSON.stringify(input))
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json', '--detach'], {cwd: dir, env: ENV})
    expect(r.exitCode).toBe(4)
    const {state, events} = await journalOf(dir)
    expect(state!.reason).toMatch(/gate down could not be measured 3 times in a row: .*connection refused/)
    expect(events.filter((e) => e.type === 'step.passed')).toHaveLength(0)
    expect(events.filter((e) => e.type === 'gate.measured').every((e) => e.data.verdict === 'error')).toBe(true)
  })

  it('with failClosed the same outage rolls the run back', async () => {
    const dir = caseDir(world)
    const input = configInput(world, dir, {metrics: {hosts: {type: 'scrape'}, prom: {type: 'prometheus', url: 'http://127.0.0.1:9/', timeout: '1s'}}})
    input.gates.checks = [{name: 'down', source: 'prom', errors: 'sum(x)', total: 'sum(y)', max: 0.01, errorLimit: 2, failClosed: true} as never]
    writeFileSync(path.join(dir, 'gray.yaml'), JSON.stringify(input))
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    expect(r.exitCode).toBe(3)
    for (const h of world.hosts) expect(await hostVersion(h)).toBe('v1')
  })
})
