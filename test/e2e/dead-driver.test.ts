// What a crashed driver leaves, seen without a terminal: a new run does not claim to
// have taken over from the last run's dead driver, `status --wait` stops (exit 4) on a
// run nothing drives, and `history` has a header row (its --json is unchanged).
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {BIN, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {buildLockModule, spawnLockHolder} from '../unit/state/lock-holder.js'

let live: Live

beforeAll(async () => {
  live = await startLive({service: 'shop', steps: '[{weight: 10, bake: 15s}, {weight: 100, bake: 1s}]'})
})
afterAll(async () => live?.stop())

describe('after a crashed driver', {timeout: 240_000}, () => {
  it("a new run does not say it took over from the last run's dead driver", async () => {
    const first = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir, timeoutMs: 120_000})
    expect(first.exitCode, first.stderr).toBe(0)
    // a driver of this service dies holding the lock after its run ended
    const holder = await spawnLockHolder(await buildLockModule(live.dir), `${live.dir}/.gray/shop`, 4000)
    holder.child.kill('SIGKILL')
    await new Promise((done) => holder.child.once('exit', done))
    const second = execa(process.execPath, [BIN, 'start', '--version', 'v3', '--yes'], {cwd: live.dir, env: {CI: '1'}, reject: false, stdin: 'ignore'})
    const events = await live.until('the new run to bake', (e) => e[0]?.data.version === 'v3' && replay(e).status === 'baking', 120_000)
    const attached = events.filter((e) => e.type === 'driver.attached')
    expect(attached).toHaveLength(1)
    expect(attached[0]!.data.takeover).toBe(false)
    expect(attached[0]!.data.from).toBeUndefined()

    // now this run's driver dies: --wait stops saying nothing drives it
    second.kill('SIGKILL')
    await second
    const waited = await run(['status', '--wait', '--json'], {cwd: live.dir, timeoutMs: 120_000})
    expect(waited.exitCode).toBe(4)
    expect(JSON.parse(waited.stdout).run).toMatchObject({version: 'v3', state: 'baking', driver: {alive: false}})
    expect(waited.stderr).toMatch(/^gray: stopped waiting: shop's run of v3 is UNGUARDED \(baking\): its driver \(.+, pid \d+\) is gone, so it will not end by itself$/m)

    // taking it over is a takeover of this run, and says so
    const rolled = await run(['rollback', '--yes', '--json'], {cwd: live.dir, timeoutMs: 120_000})
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    const all = await live.journal()
    const again = all.filter((e) => e.type === 'driver.attached')
    expect(again).toHaveLength(2)
    expect(again[1]!.data.takeover).toBe(true)
  })

  it('history prints a header row, and --json keeps its shape', async () => {
    const text = await run(['history'], {cwd: live.dir})
    expect(text.exitCode, text.stderr).toBe(0)
    const lines = text.stdout.split('\n')
    expect(lines[0]).toMatch(/^STARTED\s+VERSION\s+OUTCOME\s+TOOK\s+REASON$/)
    expect(lines.slice(1).filter(Boolean).length).toBe(2)
    const json = JSON.parse((await run(['history', '--json'], {cwd: live.dir})).stdout)
    expect(Object.keys(json)).toEqual(['service', 'runs'])
    expect(json.runs.map((r: {version: string}) => r.version).sort()).toEqual(['v2', 'v3'])
  })
})
