// A driver killed with SIGKILL mid-bake, taken over by `gray start` again; and
// `gray rollback` from another terminal acted on by the live driver.
import {afterEach, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {gray, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

let live: Live
let dir: string
const journal = () => live.journal()
// waits for journal events, not for the clock: a budget only a stuck run exhausts (a loaded CLI start takes 10 s)
const until: Live['until'] = (what, test, timeoutMs = 150_000) => live.until(what, test, timeoutMs)

// each test starts its own environment, with the steps it needs
async function begin(steps: string): Promise<void> {
  live = await startLive({service: 'shop', steps})
  dir = live.dir
}

afterEach(async () => live?.stop())

describe('crash and takeover', () => {
  it('kill -9 during a bake, then `gray start` again continues at the same step and completes', async () => {
    // step 2's bake is held (no loaded poll can miss it, no clock ends it): a promote to the new driver ends it
    await begin('[{weight: 1, bake: 2s}, {weight: 10, bake: 30m}, {weight: 100, bake: 2s}]')
    const first = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    await until('the bake of step 2', (events) => {
      const s = replay(events)
      return s.stepIndex === 1 && s.status === 'baking'
    })
    first.kill('SIGKILL')
    await first
    const second = gray(['start', '--version', 'v2', '--yes', '--json'], {cwd: dir, timeoutMs: 150_000})
    // the second driver took the run over at the step it was killed in, baking it again
    await until('the takeover baking step 2', (events) => {
      const s = replay(events)
      return events.filter((e) => e.type === 'driver.attached').length === 2 && s.stepIndex === 1 && s.status === 'baking'
    })
    const promoted = await run(['promote', '--yes'], {cwd: dir, timeoutMs: 90_000})
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    const taken = await second
    expect(taken.exitCode, String(taken.stderr)).toBe(0)
    const events = await journal()
    const steps = events.filter((e) => e.type === 'step.started').map((e) => e.data.index)
    expect(steps).toEqual([0, 1, 2])
    const takeover = events.filter((e) => e.type === 'driver.attached')
    expect(takeover).toHaveLength(2)
    expect(takeover[1]!.data.takeover).toBe(true)
    // the promote went to the live driver that took over
    expect(events.find((e) => e.type === 'request.received' && e.data.kind === 'promote')?.actor.pid).toBe(takeover[1]!.actor.pid)
    // the gray host was deployed with v2 once, by the first driver
    const grayDeploys = events.filter((e) => e.type === 'host.deploy.succeeded' && e.data.host === live.hosts.gray[0]!.address && e.data.version === 'v2')
    expect(grayDeploys).toHaveLength(1)
    expect(JSON.parse(String(taken.stdout)).run.state).toBe('completed')
    events.forEach((e, i) => expect(e.seq).toBe(i + 1))
    // three CLI processes and three deploys: about 45 s at a load of 7 on two cores, over 60 s at 15
  }, 300_000)

  it('`gray rollback` from another terminal is taken by the live driver mid-bake, and the gateway is at weight 0 soon after it was posted', async () => {
    // a first bake no loaded `gray rollback` can miss: only the rollback ends this run
    await begin('[{weight: 1, bake: 30m}, {weight: 100, bake: 1s}]')
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
    // the driver took it during the first bake: no step ended, none other started
    expect(events.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0])
    const zero = events.find((e) => e.type === 'gateway.publish.confirmed' && e.data.purpose === 'rollback')!
    // posted (the request's own time) → gateway at weight 0, from the journal, not a loaded CLI's start-up: the bench
    // measures the figure (well under a second); this bound only catches a driver that does not listen
    expect(Date.parse(zero.at) - Date.parse(String(received.data.requestedAt))).toBeLessThan(10_000)
    expect(replay(events).reason).toBe('pager says so')
    expect(JSON.parse(r.stdout).run.hosts.map((h: {version: string}) => h.version)).toEqual(['v1', 'v1', 'v1'])
  }, 300_000)
})
