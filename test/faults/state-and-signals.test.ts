// Journals torn or damaged, locks contested or hung, signals: the journal
// stays the truth, nothing is overwritten silently, nobody writes without the lock.
import {appendFileSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {readHolder} from '../../src/state/lock.js'
import {ServiceStore} from '../../src/state/store.js'
import {gray, run} from '../support/cli.js'
import {ENV} from './kill.js'
import {caseDir, hostVersion, journalOf, SERVICE, servedPolicy, startWorld, type World} from './world.js'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())
beforeEach(async () => world.reset())

async function until(dir: string, what: string, test: (s: ReturnType<typeof replay>) => boolean, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const {state} = await journalOf(dir).catch(() => ({state: null}))
    if (state && test(state)) return state
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await delay(50)
  }
}

async function journalFile(dir: string): Promise<string> {
  const store = new ServiceStore(path.join(dir, '.gray'), SERVICE)
  return store.runPath((await store.listRuns()).at(-1)!)
}

const slowSteps = {steps: [{weight: 1, bake: '500ms'}, {weight: 50, bake: '30s'}, {weight: 100, bake: '500ms'}]}

describe('torn and damaged journals', () => {
  it('a half-written last line is repaired on open, the repair journaled, and the run goes on', async () => {
    const dir = caseDir(world)
    const first = await gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: {...ENV, GRAY_FAULT: 'after:gate.measured#3'}})
    expect(first.signal).toBe('SIGKILL')
    const file = await journalFile(dir)
    appendFileSync(file, '{"seq":999,"at":"2026-11-22T1')
    const status = await run(['status', '--json'], {cwd: dir})
    expect(status.exitCode, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout).run.state).toBe('baking')
    const second = await run(['start', '--version', 'v2', '--yes'], {cwd: dir, env: ENV})
    expect(second.exitCode, second.stderr).toBe(0)
    const {events} = await journalOf(dir)
    const repaired = events.filter((e) => e.type === 'journal.repaired')
    expect(repaired).toHaveLength(1)
    expect(repaired[0]!.data.droppedText).toContain('"seq":999')
    events.forEach((e, i) => expect(e.seq).toBe(i + 1))
  })

  it('a damaged middle line stops every command with the file and line, and nothing is overwritten', async () => {
    const dir = caseDir(world, slowSteps)
    const first = await gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: {...ENV, GRAY_FAULT: 'after:step.started#1'}})
    expect(first.signal).toBe('SIGKILL')
    const file = await journalFile(dir)
    const lines = readFileSync(file, 'utf8').split('\n')
    lines[2] = '#garbage#' + lines[2]!.slice(1)
    writeFileSync(file, lines.join('\n'))
    const before = readFileSync(file)
    for (const args of [['status'], ['start', '--version', 'v2', '--yes'], ['rollback', '--yes'], ['history']]) {
      const r = await run(args, {cwd: dir, env: ENV})
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toContain(`${file} line 3`)
      expect(r.stderr).toMatch(/move the file aside/)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(readFileSync(file).equals(before)).toBe(true)
  })
})

describe('locks', () => {
  it('two `gray start` at once: one drives, the other exits 5 naming the holder', async () => {
    // a first bake no loaded second start can miss: the SIGTERM below ends the run, not the clock
    const dir = caseDir(world, {steps: [{weight: 1, bake: '30m'}, {weight: 100, bake: '500ms'}]})
    const a = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    await until(dir, 'a driver', (s) => s.driver !== null)
    const b = await run(['start', '--version', 'v2', '--yes'], {cwd: dir, env: ENV})
    expect(b.exitCode).toBe(5)
    expect(b.stderr).toMatch(/^gray: shop is driven by \S+@\S+ \(pid \d+\) since \d\d:\d\d:\d\d/)
    a.kill('SIGTERM')
    expect((await a).exitCode).toBe(4)
  })

  it('a hung holder (SIGSTOP) loses the lock after the staleness limit and its late writes are refused', async () => {
    const dir = caseDir(world, slowSteps)
    const a = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    // a failing assertion must not leave a stopped driver behind on the machine
    onTestFinished(() => {
      if (a.exitCode !== null) return
      a.kill('SIGCONT')
      a.kill('SIGKILL')
    })
    await until(dir, 'the long bake', (s) => s.stepIndex === 1 && s.status === 'baking')
    a.kill('SIGSTOP')
    await delay(100) // a heartbeat already under way lands
    // the stopped holder's last heartbeat: the lock's mtime, which it no longer refreshes
    const lastBeat = statSync(path.join(dir, '.gray', SERVICE, 'driver.lock')).mtimeMs
    const stale = Number(ENV.GRAY_LOCK_STALE_MS)
    // within the limit the hung holder still counts as alive (a new driver is refused with exit 5) …
    expect((await readHolder(path.join(dir, '.gray', SERVICE), {staleMs: stale}))?.alive).toBe(true)
    // … and once it has passed, a new driver takes over
    await delay(Math.max(0, lastBeat + stale - Date.now()))
    const b = await run(['start', '--version', 'v2', '--yes', '--json'], {cwd: dir, env: ENV, timeoutMs: 120_000})
    expect(b.exitCode, b.stderr).toBe(0)
    const taken = (await journalOf(dir)).events.find((e) => e.type === 'driver.attached' && e.data.takeover)!
    expect(Date.parse(taken.at) - lastBeat).toBeGreaterThanOrEqual(stale)
    const {events: after} = await journalOf(dir)
    a.kill('SIGCONT')
    const late = await a
    expect(late.exitCode).toBe(5)
    expect(String(late.stderr)).toMatch(/no longer driven by this process/)
    const {events} = await journalOf(dir)
    expect(events).toHaveLength(after.length)
    expect((await servedPolicy(world)).revision).toBe(replay(events).applied!.revision)
  })

  it('a driver killed between journaling a promote and carrying it out: the promote is carried out once, by the successor, and leaves the inbox', async () => {
    const dir = caseDir(world, slowSteps)
    const a = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: {...ENV, GRAY_FAULT: 'after:request.received'}})
    onTestFinished(() => {
      if (a.exitCode === null) a.kill('SIGKILL')
    })
    await until(dir, 'the long bake', (s) => s.stepIndex === 1 && s.status === 'baking')
    // the driver journals the request, then dies before its effect and before removing it from the inbox;
    // `gray promote` waits for the dead driver's lock to go stale and drives on itself
    const promote = await run(['promote', '--yes', '--json'], {cwd: dir, env: ENV, timeoutMs: 150_000})
    expect((await a).signal).toBe('SIGKILL')
    expect(promote.exitCode, promote.stderr).toBe(0)

    const {events, state} = await journalOf(dir)
    expect(state!.status, `${events.map((e) => `${e.actor.pid} ${e.type}`).join('\n')}\n${promote.stdout}`).toBe('completed')
    const received = events.filter((e) => e.type === 'request.received')
    expect(received.map((e) => e.data.kind)).toEqual(['promote'])
    expect(received[0]!.actor.pid).toBe(a.pid)
    // its effect was journaled once, by the successor, naming the request
    const promoted = events.filter((e) => e.type === 'run.promoted')
    expect(promoted.map((e) => e.data.request)).toEqual([received[0]!.data.id])
    expect(promoted[0]!.actor.pid).not.toBe(a.pid)
    expect(events.find((e) => e.type === 'step.passed' && e.data.index === 1)?.data.by).toBe('promote')
    expect(readdirSync(path.join(dir, '.gray', SERVICE, 'inbox')).filter((n) => n.endsWith('.json'))).toEqual([])
  })

  it('`gray rollback` with no live driver does the rollback itself', async () => {
    const dir = caseDir(world, {steps: [{weight: 1, bake: '500ms'}, {weight: 50, bake: '500ms', pause: true}, {weight: 100, bake: '500ms'}]})
    const waiting = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--detach'], {cwd: dir, env: ENV})
    expect(waiting.exitCode).toBe(4)
    const r = await run(['rollback', '--yes', '--json'], {cwd: dir, env: ENV})
    expect(r.exitCode, r.stderr).toBe(3)
    for (const h of world.hosts) expect(await hostVersion(h)).toBe('v1')
    const received = (await journalOf(dir)).events.find((e) => e.type === 'request.received')!
    expect(received.data.kind).toBe('rollback')
  })
})

describe('signals without a TTY', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s during a bake leaves the run paused at its weight, journaled, exit 4; resume completes it', async (signal) => {
    const dir = caseDir(world, slowSteps)
    const a = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    await until(dir, 'the long bake', (s) => s.stepIndex === 1 && s.status === 'baking')
    a.kill(signal)
    a.kill(signal) // a second signal changes nothing
    const out = await a
    expect(out.exitCode).toBe(4)
    const {state} = await journalOf(dir)
    expect(state!.status).toBe('paused')
    expect(state!.reason).toBe(`interrupted by ${signal}`)
    const served = await servedPolicy(world)
    expect(served.revision).toBe(state!.applied!.revision)
    expect(served.weightBasisPoints).toBe(5000)
    const resumed = await run(['promote', '--yes'], {cwd: dir, env: ENV})
    expect(resumed.exitCode, resumed.stderr).toBe(0)
  })
})

describe('state files are private', () => {
  it('journal and lock files are 0600 in 0700 directories', async () => {
    const dir = caseDir(world)
    const r = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env: ENV})
    expect(r.exitCode).toBe(0)
    const file = await journalFile(dir)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    for (const d of [path.join(dir, '.gray', SERVICE), path.dirname(file)]) expect(statSync(d).mode & 0o777).toBe(0o700)
    expect(statSync(path.join(dir, '.gray', SERVICE, 'epoch')).mode & 0o777).toBe(0o600)
  })
})
