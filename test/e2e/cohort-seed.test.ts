// Rotating cohorts through bin/run.js: `gray start` picks a cohort seed for the
// run, `gray status` (the bundled fast path, and --json) shows it, the sandbox
// gateway serves it in its policy, `gray cohort` decides with it, the next run
// picks another; under `traffic.rotate: false` there is none.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {SPLIT_CLIENTS} from '../../src/core/policy/split.js'
import {run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

const STEPS = '[{weight: 10, bake: 1s, pause: true}, {weight: 100, bake: 1s}]'
const ENV = {NO_COLOR: '1'}

// a fresh environment (dir, state, gateway) for each test: one left mid-run by a test that failed is not the next one's
let live: Live
beforeEach(async () => {
  live = await startLive({service: 'shop', steps: STEPS})
}, 60_000)
afterEach(async () => live?.stop())

/** a run left at its first step's wait for `gray promote` (--detach: this process does not stay to guard it) */
async function startWaiting(): Promise<void> {
  const s = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--detach', '--json'], {cwd: live.dir, env: ENV, timeoutMs: 90_000})
  expect(s.exitCode, s.stderr).toBe(4)
}

async function rollBack(): Promise<void> {
  const r = await run(['rollback', '--yes', '--reason', 'next run'], {cwd: live.dir, env: ENV, timeoutMs: 90_000})
  expect(r.exitCode, r.stderr).toBe(3)
}

async function statusJson(): Promise<{run: {cohortSeed: string | null}}> {
  const r = await run(['status', '--json'], {cwd: live.dir, env: ENV})
  expect(r.exitCode, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

describe('the cohort seed in status, the journal, the gateway and gray cohort', () => {
  it('a new run picks a seed that status shows and every split uses; the next run picks another', async () => {
    await startWaiting()
    const events = await live.journal()
    const seed = (events[0]?.data as {cohortSeed?: string}).cohortSeed
    expect(seed).toMatch(/^[0-9a-f]{8}$/)
    expect((await statusJson()).run.cohortSeed).toBe(seed)
    const human = await run(['status'], {cwd: live.dir, env: ENV})
    expect(human.exitCode, human.stderr).toBe(0)
    expect(human.stdout).toMatch(new RegExp(`^  cohort seed: ${seed}$`, 'm'))

    // the sandbox serves the run's seed in its policy document
    const served = (await (await fetch(`${live.adminUrl}/v1/policy/shop`)).json()) as {seed?: string; weightBasisPoints: number}
    expect(served).toMatchObject({seed, weightBasisPoints: 1000})

    // gray cohort decides with it: the bucket is the seed's, and so is the answer now
    const c = await run(['cohort', 'uid=u42', '--json'], {cwd: live.dir, env: ENV})
    expect(c.exitCode, c.stderr).toBe(0)
    const answer = JSON.parse(c.stdout) as {seed: string; bucket: number; now: {target: string}}
    expect(answer.seed).toBe(seed)
    expect(answer.bucket).toBe(SPLIT_CLIENTS.bucketOf('u42', seed))
    expect(answer.now.target).toBe(SPLIT_CLIENTS.inGray('u42', 1000, seed) ? 'gray' : 'stable')

    await rollBack()
    await startWaiting()
    const next = (await statusJson()).run.cohortSeed
    expect(next).toMatch(/^[0-9a-f]{8}$/)
    expect(next).not.toBe(seed)
    await rollBack()
  }, 300_000)

  it('traffic.rotate: false: no seed in the journal or status, and the gateway hashes the key alone', async () => {
    const file = path.join(live.dir, 'gray.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('traffic: {sticky: "cookie:uid",', 'traffic: {rotate: false, sticky: "cookie:uid",'))
    await startWaiting()
    const events = await live.journal()
    expect(events[0]?.data).not.toHaveProperty('cohortSeed')
    expect((await statusJson()).run.cohortSeed).toBeNull()
    const human = await run(['status'], {cwd: live.dir, env: ENV})
    expect(human.stdout).not.toContain('cohort seed')
    const served = (await (await fetch(`${live.adminUrl}/v1/policy/shop`)).json()) as Record<string, unknown>
    expect(served).not.toHaveProperty('seed')
    const c = JSON.parse((await run(['cohort', 'uid=u42', '--json'], {cwd: live.dir, env: ENV})).stdout) as {seed: null; bucket: number}
    expect(c).toMatchObject({seed: null, bucket: SPLIT_CLIENTS.bucketOf('u42')})
    await rollBack()
    // five CLI processes: 112 s at a load of 15 on two cores
  }, 300_000)
})
