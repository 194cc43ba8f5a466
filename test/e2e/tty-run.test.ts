// The run flows in a real terminal (tmux, 120×40), as a person types them:
// bin/run.js on dist/, asserting on the screen and the exit code. Without CI in
// the session gray draws its live view and asks its questions, as on a laptop.
import {describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {run} from '../support/cli.js'
import {grayTty, keepScreen, STACK_TRACE, ttySkipReason} from '../support/tmux.js'
import {LONG_BAKE, START, ttyLiveSession, type TtyLive} from '../support/tty-live.js'

const skip = ttySkipReason()
if (skip && !process.env.CI) console.warn(`skipping the terminal tests of the run flows: ${skip}`)

const session = ttyLiveSession()
const open = session.open
let live: TtyLive

const SCREEN_MS = 90_000

function noBug(screen: string): void {
  expect(screen).not.toMatch(STACK_TRACE)
  expect(screen).not.toContain('looks like a bug')
  expect(screen).not.toMatch(/✔.*not reached/)
}

describe.skipIf(skip !== null && !process.env.CI)('the run flows on a terminal', () => {
  it('tmux is here (CI installs it with .ci/deps.sh)', () => expect(skip).toBeNull())

  it('`start` completes: finished phases, one block redrawn in place, exit 0, plain policy served', async () => {
    // step 2 bakes until a promote ends it: the screen is read while it bakes, however slow the machine
    live = await session.start({steps: LONG_BAKE})
    const t = await open(START)
    const mid = await t.until('step 2 baking', (s) => s.includes('▶ Step 2/3') && s.includes('baking'), SCREEN_MS)
    keepScreen('tty-start-baking', mid)
    // one block, redrawn in place: one weight line and one head on the screen, the finished phases above
    expect(mid.match(/^ {2}weight {2}intended/gm)).toHaveLength(1)
    expect(mid.match(/^▶ /gm)).toHaveLength(1)
    expect(mid).toMatch(/^✔ Deploy v2 to the gray pool: gray-1$/m)
    expect(mid).toMatch(/^✔ Step 1\/3 · 1% to gray · gates passed$/m)
    expect(mid).toMatch(/^ {2}gates {3}errors +(pass|no-data|waiting) +(-|[\d.]+%) +≤ 5% /m)
    expect(mid).not.toMatch(/\d\.\d{5,} samples|\(1 passes\)/)
    expect(mid).toContain('Ctrl-C asks: keep going, roll back now, or pause and leave')
    const promoted = await run(['promote', '--yes'], {cwd: live.dir})
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    expect(await t.exitCode()).toBe(0)
    const end = await t.capture()
    expect(end).toMatch(/^✔ Step 3\/3 · 100% to gray/m)
    expect(end).toMatch(/^✔ Complete: roll out to every host, plain policy$/m)
    noBug(end)
    expect(await live.servedWeight()).toBe(100)
  })

  it('`start` rolled back by a gate at 50%: exit 3, the gateway at 0, no stack trace', async () => {
    live = await session.start({failVersions: ['v2'], steps: '[{weight: 50, bake: 60s}, {weight: 100, bake: 1s}]'})
    const t = await open(START)
    expect(await t.exitCode()).toBe(3)
    const end = await t.capture()
    keepScreen('tty-start-rolled-back', end)
    expect(end).toMatch(/^✖ Step 1\/2 · 50% to gray · rolled back: gate errors failed: [\d.]+% > max 5% \(2 consecutive fails\)$/m)
    expect(end).toMatch(/^· Step 2\/2 · 100% to gray · skipped: rolled back$/m)
    noBug(end)
    expect(await live.servedWeight()).toBe(0)
    const s = replay(await live.journal())
    expect(s.status).toBe('rolled_back')
    expect(s.hosts.every((h) => h.version === 'v1')).toBe(true)
  })

  it('a failing deploy pauses with its error on screen (--detach: exit 4, UNGUARDED); `gray rollback` on the terminal, with no driver, reverts it (exit 3)', async () => {
    live = await session.start()
    const t = await open(['start', '--version', 'broken-v2', '--previous-version', 'v1', '--yes', '--detach'])
    expect(await t.exitCode()).toBe(4)
    // the driver's UNGUARDED line comes before the final block and the agent note: read the scrollback
    const paused = await t.capture({scrollback: true})
    expect(paused).toMatch(/deploy of broken-v2 failed on gray-1/)
    expect(paused).toContain('no `gray agent` serves shop to guard the run')
    expect(paused).toContain('the run is now UNGUARDED until `gray resume`')
    noBug(paused)

    const r = await open(['rollback'])
    await r.until('the question', (s) => s.includes('Roll back shop now?'), SCREEN_MS)
    await r.keys('y', 'Enter')
    expect(await r.exitCode()).toBe(3)
    const end = await r.capture()
    expect(end).toMatch(/rolled back/)
    noBug(end)
    expect(await live.servedWeight()).toBe(0)
    expect(replay(await live.journal()).hosts.find((h) => h.name === 'gray-1')?.version).toBe('v1')
  })

  it('a manual wait is guarded on screen; Ctrl-C "Pause and leave" exits 4 (UNGUARDED); `gray promote` on the terminal, with no driver, asks and drives it to the end', {timeout: 240_000}, async () => {
    live = await session.start({steps: '[{weight: 1, bake: 1s}, {weight: 10, bake: 1s, pause: true}, {weight: 100, bake: 1s}]'})
    const t = await open(START)
    const guarded = await t.until('the guarded wait', (s) => s.includes('waiting for `gray promote`; gates still measured every 0.5s'), SCREEN_MS)
    keepScreen('tty-start-guarded-wait', guarded)
    expect(guarded).toMatch(/^‖ Step 2\/3 · 10% to gray · waits for promote · waiting for `gray promote`; gates still measured every 0\.5s$/m)
    // still guarding: the gates go on being measured at the wait, and the process has not left
    const measuredAtWait = (events: Awaited<ReturnType<typeof live.journal>>) => events.filter((e) => e.type === 'gate.measured' && e.data.guard === true).length
    await live.until('guard measurements', (events) => measuredAtWait(events) >= 3, SCREEN_MS)
    expect(t.ended()).toBeNull()
    await t.keys('C-c')
    await t.until('the question', (s) => s.includes('What now?') && s.includes('Pause and leave'), SCREEN_MS)
    await t.keys('Down', 'Down', 'Enter')
    expect(await t.exitCode()).toBe(4)
    const waiting = await t.capture()
    expect(waiting).toContain('the run is now UNGUARDED until `gray resume`')
    noBug(waiting)
    expect((await live.journal()).at(-1)?.type).toBe('driver.detached')

    const p = await open(['promote'])
    await p.until('the question', (s) => s.includes('Let shop go on to its next step?'), SCREEN_MS)
    await p.keys('y', 'Enter')
    expect(await p.exitCode()).toBe(0)
    const end = await p.capture()
    expect(end).toMatch(/^✔ Complete/m)
    noBug(end)
    expect(replay(await live.journal()).status).toBe('completed')
  })

  it('`gray promote` on the terminal drives on and a gate trips: rolled back, exit 3, the gateway at 0, no stack trace', async () => {
    live = await session.start({failVersions: ['v2'], steps: '[{weight: 1, pause: true}, {weight: 50, bake: 60s}, {weight: 100, bake: 1s}]'})
    const t = await open([...START, '--detach'])
    expect(await t.exitCode()).toBe(4)
    expect(await t.capture()).toMatch(/waits for `gray promote`/)

    const p = await open(['promote'])
    await p.until('the question', (s) => s.includes('Let shop go on to its next step?'), SCREEN_MS)
    await p.keys('y', 'Enter')
    expect(await p.exitCode()).toBe(3)
    const end = await p.capture()
    expect(end).toMatch(/^✖ Step 2\/3 · 50% to gray · rolled back: gate errors failed/m)
    noBug(end)
    expect(replay(await live.journal()).status).toBe('rolled_back')
    expect(await live.servedWeight()).toBe(0)
  })

  it('`gray rollback` typed in a second terminal while a terminal drives: both end with exit 3, the gateway at 0', async () => {
    live = await session.start({steps: LONG_BAKE})
    const driver = await open(START)
    await driver.until('step 2 baking', (s) => s.includes('▶ Step 2/3') && s.includes('baking'), SCREEN_MS)
    // `resume` and `promote` typed there go to the live driver too (nothing to resume: it says so and changes nothing)
    const resume = await open(['resume'])
    expect(await resume.exitCode()).toBe(0)
    expect(await resume.capture()).toMatch(/the driver \(pid \d+\) took the resume request/)
    const r = await open(['rollback'])
    await r.until('the question', (s) => s.includes('Roll back shop now?'), SCREEN_MS)
    await r.keys('y', 'Enter')
    expect(await r.exitCode()).toBe(3)
    expect(await driver.exitCode()).toBe(3)
    const second = await r.capture()
    expect(second).toMatch(/the driver \(pid \d+\) took the rollback request/)
    noBug(second)
    const first = await driver.capture()
    expect(first).toMatch(/^✖ Step 2\/3 · 10% to gray · rolled back: requested by/m)
    noBug(first)
    expect(await live.servedWeight()).toBe(0)
  })

  it('Ctrl-C in the terminal following a live driver only stops following (exit 0); the driver finishes the rollback (exit 3)', async () => {
    live = await session.start({steps: LONG_BAKE, slowMs: 6_000})
    const driver = await open(START)
    await driver.until('step 2 baking', (s) => s.includes('▶ Step 2/3') && s.includes('baking'), SCREEN_MS)
    live.slowDown()
    const r = await open(['rollback', '--yes'])
    await r.until('the rollback under way', (s) => s.includes('ROLLING BACK'), SCREEN_MS)
    await r.keys('C-c')
    expect(await r.exitCode()).toBe(0)
    const follower = await r.capture()
    expect(follower).toMatch(/stopped following; the driver \(pid \d+\) has taken the request and goes on/)
    noBug(follower)
    expect(await driver.exitCode()).toBe(3)
    expect(await live.servedWeight()).toBe(0)
    expect(replay(await live.journal()).hosts.every((h) => h.version === 'v1')).toBe(true)
  })

  it('`gray rollback` from a second terminal while `gray promote` drives at 100% on a terminal: both exit 3, the gateway at 0', async () => {
    live = await session.start({steps: '[{weight: 1, bake: 1s, pause: true}, {weight: 100, bake: 300s}]'})
    expect(await (await open([...START, '--detach'])).exitCode()).toBe(4)
    const p = await open(['promote'])
    await p.until('the question', (s) => s.includes('Let shop go on to its next step?'), SCREEN_MS)
    await p.keys('y', 'Enter')
    await p.until('100% baking', (s) => s.includes('▶ Step 2/2 · 100% to gray') && s.includes('baking'), SCREEN_MS)
    const r = await open(['rollback', '--reason', 'v2 fails at 100%'])
    await r.until('the question', (s) => s.includes('Roll back shop now?'), SCREEN_MS)
    await r.keys('y', 'Enter')
    expect(await r.exitCode()).toBe(3)
    expect(await p.exitCode()).toBe(3)
    const driving = await p.capture()
    expect(driving).toMatch(/^✖ Step 2\/2 · 100% to gray · rolled back: v2 fails at 100%$/m)
    noBug(driving)
    noBug(await r.capture())
    expect(await live.servedWeight()).toBe(0)
    expect(replay(await live.journal()).hosts.every((h) => h.version === 'v1')).toBe(true)
  })

  it('under 80 columns the run prints plain timestamped lines, no redrawn block', async () => {
    live = await session.start({steps: '[{weight: 1, bake: 1s}, {weight: 100, bake: 1s}]'})
    const t = await open(START, {width: 79, height: 200})
    expect(await t.exitCode()).toBe(0)
    const end = await t.capture()
    expect(end).toMatch(/^\d\d:\d\d:\d\d step 1 started: 1%$/m)
    expect(end).toMatch(/^\d\d:\d\d:\d\d completed: v2 is the current version$/m)
    expect(end).not.toContain('  weight  intended')
    noBug(end)
  })

  it('`status --watch` draws its first frame before the gateway answers, then says the gateway cannot be read', async () => {
    live = await session.start({steps: '[{weight: 1, bake: 1s, pause: true}, {weight: 100, bake: 1s}]'})
    const waits = await open([...START, '--detach'])
    expect(await waits.exitCode()).toBe(4)
    // a gateway admin that accepts connections and never answers: read back only ends at its 3 s timeout
    const {createServer} = await import('node:net')
    const sockets: import('node:net').Socket[] = []
    const hole = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve))
    const port = (hole.address() as import('node:net').AddressInfo).port
    const {readFileSync, writeFileSync} = await import('node:fs')
    const file = `${live.dir}/gray.yaml`
    writeFileSync(file, readFileSync(file, 'utf8').replace(/admin: "[^"]+"/, `admin: "127.0.0.1:${port}"`))
    try {
      const w = await open(['status', '--watch'], {width: 100, height: 30})
      const first = await w.until('the first frame', (s) => s.includes('shop v1 → v2'), SCREEN_MS)
      expect(first).toMatch(/^weight {2}intended 1% {2}served reading the gateway…$/m)
      expect(await w.until('the gateway read back', (s) => s.includes('unreadable:'), SCREEN_MS)).toMatch(/served unreadable: /)
      await w.keys('C-c')
      expect(await w.exitCode()).toBe(0)
    } finally {
      for (const s of sockets) s.destroy()
      hole.close()
    }
  })

  it('Ctrl-C at the start confirmation is a plain cancel: exit 2, nothing written', async () => {
    live = await session.start()
    const t = await open(['start', '--version', 'v2'])
    await t.until('the question', (s) => s.includes('Start rolling out shop v2?'), SCREEN_MS)
    await t.keys('C-c')
    expect(await t.exitCode()).toBe(2)
    const end = await t.capture()
    expect(end).toContain('gray: cancelled at the prompt; nothing was changed')
    noBug(end)
    expect(await live.journal()).toEqual([])
  })
})

describe.skipIf(skip !== null && !process.env.CI)('gray demo on a terminal', () => {
  it('`demo` completes (exit 0) and `demo --fail` rolls back (exit 3), no stack trace', async () => {
    const ok = await grayTty(['demo'], {cwd: process.cwd()})
    const fail = await grayTty(['demo', '--fail'], {cwd: process.cwd()})
    session.keep(ok, fail)
    expect(await fail.exitCode(120_000)).toBe(3)
    const failed = await fail.capture()
    expect(failed).toMatch(/^✖ Step 1\/4 · 1% to gray · rolled back: gate backend-5xx failed/m)
    noBug(failed)
    expect(await ok.exitCode(180_000)).toBe(0)
    const done = await ok.capture()
    expect(done).toMatch(/^✔ Step 4\/4 · 100% to gray/m)
    expect(done).toMatch(/demo v2 completed|completed/)
    noBug(done)
  }, 240_000)
})
