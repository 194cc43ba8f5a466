// A driver killed with SIGKILL mid-bake, taken over by `gray start` again; and
// `gray rollback` from another terminal acted on by the live driver.
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {gray, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

let live: Live
let dir: string
const journal = () => live.journal()
const until: Live['until'] = (what, test, timeoutMs = 30_000) => live.until(what, test, timeoutMs)

beforeEach(async () => {
  live = await startLive({service: 'shop', steps: '[{weight: 1, bake: 2s}, {weight: 10, bake: 6s}, {weight: 100, bake: 2s}]'})
  dir = live.dir
})

afterEach(async () => live.stop())

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
    const grayDeploys = events.filter((e) => e.type === 'host.deploy.succeeded' && e.data.host === live.hosts.gray[0]!.address && e.data.version === 'v2')
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
    expect(Date.parse(zero.at) - Date.parse(String(received.data.requestedAt))).toBeLessThan(10_000)
    expect(replay(events).reason).toBe('pager says so')
    expect(JSON.parse(r.stdout).run.hosts.map((h: {version: string}) => h.version)).toEqual(['v1', 'v1', 'v1'])
  })
})
