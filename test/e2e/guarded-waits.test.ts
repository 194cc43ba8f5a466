// Guarded waits through the real CLI: a `gray start` that reaches a step waiting for `gray promote`, or a run
// paused by `gray pause` from another process, stays and keeps measuring the gates; when the gray version starts
// failing then, the start process itself rolls the run back. `--detach` leaves (exit 4) saying the run is
// UNGUARDED. The gate reads a number from a file (a `command` source) the test flips; traffic goes through the
// sandbox gateway to real sample services.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {replay} from '../../src/core/run/state.js'
import {gray, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {jsonProblems} from '../support/results.js'

let live: Live | undefined
afterEach(async () => {
  await live?.stop()
  live = undefined
})

/** a live service whose one gate reads gray's error ratio from `rate` (a file the test writes) */
async function flippable(steps: string): Promise<{live: Live; fail: () => void}> {
  const l = await startLive({steps})
  const rate = path.join(l.dir, 'rate')
  writeFileSync(rate, JSON.stringify({value: 0.001, samples: 1000}))
  // sh, not node: a measurement every 500ms must not wait for a runtime to start; the query comes as the last argument ($1)
  const file = path.join(l.dir, 'gray.yaml')
  const text = readFileSync(file, 'utf8')
    .replace(/^metrics: .*$/m, `metrics: {rate: {type: command, command: ["/bin/sh", "-c", 'cat "$0"', ${JSON.stringify(rate)}], timeout: 5s}}`)
    .replace(/^ {2}checks: .*$/m, '  checks: [{name: errors, source: rate, query: "gray errors", max: 0.05, minPasses: 2}]')
  writeFileSync(file, text)
  return {live: l, fail: () => writeFileSync(rate, JSON.stringify({value: 0.3, samples: 1000}))}
}

const guarding = (events: JournalEvent[]) => events.some((e) => e.type === 'driver.guarding')
const guardMeasured = (events: JournalEvent[]) => events.filter((e) => e.type === 'gate.measured' && e.data.guard === true).length

describe('guarded waits (real CLI, sandbox gateway)', () => {
  it('a run at a `pause: true` step whose gray version starts failing is rolled back by the waiting `gray start` itself', async () => {
    const world = await flippable('[{weight: 1, bake: 1s}, {weight: 50, bake: 1s, pause: true}, {weight: 100, bake: 1s}]')
    live = world.live
    const start = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json'], {cwd: live.dir, timeoutMs: 240_000})
    // the step waits, and the driver keeps measuring: several guard rounds while healthy
    await live.until('the guard to measure a few times', (events) => guarding(events) && guardMeasured(events) >= 3, 150_000)
    const status = await run(['status', '--json'], {cwd: live.dir})
    const doc = JSON.parse(status.stdout)
    expect(doc.run).toMatchObject({state: 'waiting', guarded: true, guard: {reason: 'waiting for gray promote', weight: 50, intervalMs: 500}})
    expect(Date.parse(doc.run.guard.lastMeasuredAt)).toBeGreaterThan(Date.parse(doc.run.guard.since) - 1000)
    expect(jsonProblems('status', status.stdout, status.exitCode)).toEqual([])
    const human = await run(['status'], {cwd: live.dir})
    expect(human.stdout).toMatch(/guarded: waiting for `gray promote`; gates still measured every 0\.5s at 50% \(last \d\d:\d\d:\d\d\), a failing gate rolls back/)
    expect(human.stdout).not.toContain('UNGUARDED')

    world.fail()
    const out = await start
    expect(out.exitCode, String(out.stderr)).toBe(3)
    const result = JSON.parse(String(out.stdout))
    expect(result.run.state).toBe('rolled_back')
    expect(result.run.reason).toMatch(/^gate errors failed: 0\.3 > max 0\.05/)
    expect(jsonProblems('start', String(out.stdout), 3)).toEqual([])
    const events = await live.journal()
    // nothing advanced past the pause step, and the driver never left the run
    expect(events.filter((e) => e.type === 'step.started').map((e) => e.data.index)).toEqual([0, 1])
    expect(events.some((e) => e.type === 'driver.detached')).toBe(false)
    expect(events.find((e) => e.type === 'rollback.started')?.data.by).toBe('gates')
  }, 300_000)

  it('`gray pause` from another process keeps the start process guarding; a failing gate while paused rolls back', async () => {
    const world = await flippable('[{weight: 10, bake: 10m}, {weight: 100, bake: 1s}]')
    live = world.live
    const start = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir, timeoutMs: 240_000})
    await live.until('the bake of step 1', (events) => replay(events).status === 'baking', 150_000)
    const paused = await run(['pause', '--reason', 'lunch', '--json'], {cwd: live.dir})
    expect(paused.exitCode, paused.stderr).toBe(4)
    expect(JSON.parse(paused.stdout).run.state).toBe('paused')
    await live.until('the guard of the pause', (events) => guarding(events) && guardMeasured(events) >= 2, 150_000)
    const doc = JSON.parse((await run(['status', '--json'], {cwd: live.dir})).stdout)
    expect(doc.run).toMatchObject({state: 'paused', guarded: true, driver: {alive: true}, guard: {reason: expect.stringMatching(/^lunch/), weight: 10}})
    expect(start.exitCode).toBeNull() // still driving

    world.fail()
    const out = await start
    expect(out.exitCode, String(out.stderr)).toBe(3)
    expect(String(out.stderr)).toMatch(/ROLLING BACK: gate errors failed/)
    const events = await live.journal()
    expect(events.filter((e) => e.type === 'step.passed')).toEqual([])
    expect(events.some((e) => e.type === 'driver.detached')).toBe(false)
  }, 300_000)

  it('`--detach` leaves at the wait (exit 4), saying loudly the run is UNGUARDED; status says so too', async () => {
    const world = await flippable('[{weight: 10, bake: 1s, pause: true}, {weight: 100, bake: 1s}]')
    live = world.live
    const out = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json', '--detach'], {cwd: live.dir, timeoutMs: 150_000})
    expect(out.exitCode, out.stderr).toBe(4)
    expect(JSON.parse(out.stdout).run.state).toBe('waiting')
    expect(jsonProblems('start', out.stdout, 4)).toEqual([])
    expect(out.stderr).toContain('the run is now UNGUARDED until `gray promote`: no gate is measured and nothing rolls it back by itself')
    const events = await live.journal()
    expect(events.at(-1)).toMatchObject({type: 'driver.detached', data: {reason: 'waiting for gray promote'}})
    expect(events.some((e) => e.type === 'driver.guarding')).toBe(false)
    const status = await run(['status'], {cwd: live.dir})
    expect(status.stdout).toContain('UNGUARDED')
    // promote --detach drives on to the end (no wait left), resume --detach is accepted alike
    const promoted = await run(['promote', '--yes', '--detach', '--json'], {cwd: live.dir, timeoutMs: 150_000})
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    expect(JSON.parse(promoted.stdout).run.state).toBe('completed')
  }, 300_000)
})
