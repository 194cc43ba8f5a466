// Ctrl-C in a real terminal (tmux) while gray drives a run: the first asks while
// the driver keeps driving (keep going / roll back now / pause and leave); a
// second pauses once the step in progress settles; a pause is always journaled
// (exit 4) and a deploy under way is never killed halfway.
import {describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {replay} from '../../src/core/run/state.js'
import {keepScreen, STACK_TRACE, ttySkipReason, type Tty} from '../support/tmux.js'
import {LONG_BAKE, START, ttyLiveSession, type TtyLive} from '../support/tty-live.js'

const skip = ttySkipReason()
if (skip && !process.env.CI) console.warn(`skipping the Ctrl-C terminal tests: ${skip}`)

const session = ttyLiveSession()
const open = session.open
let live: TtyLive

const SCREEN_MS = 90_000
const QUESTION = 'What now?'
const measured = (events: JournalEvent[]) => events.filter((e) => e.type === 'gate.measured').length

function noBug(screen: string): void {
  expect(screen).not.toMatch(STACK_TRACE)
  expect(screen).not.toContain('looks like a bug')
}

async function baking(t: Tty): Promise<void> {
  await t.until('step 2 baking', (s) => s.includes('▶ Step 2/3') && s.includes('baking'), SCREEN_MS)
}

describe.skipIf(skip !== null && !process.env.CI)('Ctrl-C on a terminal', () => {
  it('during a bake it asks while the driver goes on; "Pause and leave" journals the pause (exit 4); `resume` drives on and `promote --full` from a second terminal ends it', async () => {
    live = await session.start({steps: LONG_BAKE})
    const t = await open(START)
    await baking(t)
    await t.keys('C-c')
    const asked = await t.until('the question', (s) => s.includes(QUESTION) && s.includes('Pause and leave'), SCREEN_MS)
    keepScreen('tty-ctrl-c-question', asked)
    expect(asked).toContain('Keep going')
    expect(asked).toContain('Roll back now')
    // the question does not stop the driver: gates are still measured while it is on screen
    const before = measured(await live.journal())
    await live.until('more measurements', (events) => measured(events) >= before + 3, SCREEN_MS)
    expect(replay(await live.journal()).paused).toBeNull()

    await t.keys('Down', 'Down', 'Enter')
    expect(await t.exitCode()).toBe(4)
    const end = await t.capture()
    expect(end).toContain('the run is now UNGUARDED until `gray resume`')
    expect(end).toMatch(/^⏸ Step 2\/3 · 10% to gray · paused: interrupted by SIGINT/m)
    noBug(end)
    const events = await live.journal()
    expect(events.find((e) => e.type === 'run.paused')?.data).toMatchObject({cause: 'signal', reason: 'interrupted by SIGINT'})
    expect(events.at(-1)?.type).toBe('driver.detached')
    expect(await live.servedWeight()).toBe(10)

    // `resume` on a terminal with no driver: this process drives again
    const r = await open(['resume'])
    await baking(r)
    const p = await open(['promote', '--full', '--yes'])
    expect(await p.exitCode()).toBe(0)
    expect(await p.capture()).toMatch(/the driver \(pid \d+\) took the promote request/)
    expect(await r.exitCode()).toBe(0)
    const resumed = await r.capture()
    expect(resumed).toMatch(/^✔ Complete/m)
    noBug(resumed)
  })

  it('"Keep going" changes nothing; then Ctrl-C twice pauses without asking again (exit 4)', async () => {
    live = await session.start({steps: LONG_BAKE})
    const t = await open(START)
    await baking(t)
    await t.keys('C-c')
    await t.until('the question', (s) => s.includes(QUESTION), SCREEN_MS)
    await t.keys('Enter')
    await t.until('going on', (s) => s.includes('going on: the driver keeps driving'), SCREEN_MS)
    const after = measured(await live.journal())
    await live.until('more measurements', (events) => measured(events) >= after + 2, SCREEN_MS)
    expect(t.ended()).toBeNull()
    expect(replay(await live.journal()).paused).toBeNull()

    // a second Ctrl-C at the question pauses and leaves
    await t.keys('C-c')
    await t.until('the question again', (s) => s.split(QUESTION).length > 2 || s.includes(QUESTION), SCREEN_MS)
    await t.keys('C-c')
    expect(await t.exitCode()).toBe(4)
    const end = await t.capture()
    expect(end).toContain('the run is now UNGUARDED until `gray resume`')
    noBug(end)
    expect((await live.journal()).filter((e) => e.type === 'run.paused')).toHaveLength(1)
  })

  it('"Roll back now" rolls back: exit 3, the gateway at 0', async () => {
    live = await session.start({steps: LONG_BAKE})
    const t = await open(START)
    await baking(t)
    await t.keys('C-c')
    await t.until('the question', (s) => s.includes(QUESTION), SCREEN_MS)
    await t.keys('Down', 'Enter')
    expect(await t.exitCode()).toBe(3)
    const end = await t.capture()
    expect(end).toMatch(/rolled back after Ctrl-C/)
    noBug(end)
    expect(await live.servedWeight()).toBe(0)
  })

  it('during a deploy, Ctrl-C twice pauses once the deploy settles: the deploy finishes, the pause is journaled (exit 4)', async () => {
    live = await session.start({slowMs: 4_000})
    const t = await open(['start', '--version', 'slow-v2', '--previous-version', 'v1', '--yes'])
    await live.until('the deploy to start', () => live!.deploys().some((l) => l.startsWith('start ') && l.endsWith('slow-v2')), SCREEN_MS)
    await t.until('the deploy on screen', (s) => s.includes('→ slow-v2'), SCREEN_MS)
    await t.keys('C-c')
    await t.until('the question', (s) => s.includes(QUESTION), SCREEN_MS)
    await t.keys('C-c')
    expect(await t.exitCode()).toBe(4)
    // the deploy command was not killed: it ran to its end and the journal says the host runs it
    expect(live.deploys().filter((l) => l.startsWith('done '))).toEqual([`done ${live.hosts.gray[0]!.address} slow-v2 0`])
    const events = await live.journal()
    const types = events.map((e) => e.type)
    expect(types).not.toContain('host.deploy.failed')
    expect(types.indexOf('host.deploy.succeeded')).toBeGreaterThan(-1)
    expect(events.find((e) => e.type === 'run.paused')?.data).toMatchObject({cause: 'signal'})
    expect(types.at(-1)).toBe('driver.detached')
    const end = await t.capture()
    expect(end).toContain('the run is now UNGUARDED until `gray resume`')
    noBug(end)
  })

  it('`resume` on a terminal when a gate trips: rolled back, exit 3, the gateway at 0, no stack trace', async () => {
    live = await session.start({failVersions: ['slow-v2'], slowMs: 10_000, steps: '[{weight: 50, bake: 60s}, {weight: 100, bake: 1s}]'})
    const t = await open(['start', '--version', 'slow-v2', '--previous-version', 'v1', '--yes'])
    await t.until('the deploy on screen', (s) => s.includes('→ slow-v2'), SCREEN_MS)
    await t.keys('C-c')
    await t.until('the question', (s) => s.includes(QUESTION), SCREEN_MS)
    await t.keys('Down', 'Down', 'Enter')
    expect(await t.exitCode()).toBe(4)
    expect(replay(await live.journal()).status).toBe('paused')

    const r = await open(['resume'])
    expect(await r.exitCode()).toBe(3)
    const end = await r.capture()
    expect(end).toMatch(/^✖ Step 1\/2 · 50% to gray · rolled back: gate errors failed/m)
    noBug(end)
    expect(await live.servedWeight()).toBe(0)
  })
})
