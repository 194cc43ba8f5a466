// What people see of a guarded hold: the live block while this terminal guards a wait, the plain lines of a CI
// log (a guard's measurements only when a verdict changes), and status of a run a live driver guards.
import {describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../../src/core/ports.js'
import {RunDriver} from '../../../src/core/run/driver.js'
import type {StatusDocument} from '../../../src/services/status.js'
import {gateStyles, LineProgress, renderBlock} from '../../../src/ui/progress.js'
import {guardText, renderStatus} from '../../../src/ui/status.js'
import {renderBoard} from '../../../src/ui/board.js'
import {healthy, testActor} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')

function guardedWait() {
  const h = harness({}, {guardWaits: true})
  h.config.steps[2] = {weight: 50, bakeMs: 0, pause: true}
  return h
}

describe('the live block at a guarded wait', () => {
  it('says the step waits for promote and the gates are still measured every interval', async () => {
    const h = guardedWait()
    await h.begin()
    const driver = h.driver()
    const block: string[][] = []
    h.clock.at(5_000_000, () => {
      block.push(renderBlock(driver.state(), {width: 120, now: h.clock.now(), styles: gateStyles(h.config.gates!.checks), events: []}))
      h.inbox.post('rollback')
    })
    await h.clock.run(driver.drive())
    expect(plain(block[0]![0]!)).toBe('‖ Step 3/4 · 50% to gray · waits for promote · waiting for `gray promote`; gates still measured every 30s')
  })
})

describe('plain progress lines while guarding', () => {
  it('print the guard once, then a guard measurement only when its verdict changes', async () => {
    const h = guardedWait()
    const lines: string[] = []
    const progress = new LineProgress((l) => lines.push(plain(l)))
    let n = 0
    h.source.script = () => (h.state().waiting && ++n >= 100 ? healthy(0.05) : healthy())
    await h.begin()
    const {config, journal, gateway, deployer, source, clock, inbox} = h
    const observe = (e: JournalEvent) => progress.observe(e)
    const driver = new RunDriver({config, journal, gateway, deployer, sources: {m: source}, clock, inbox, actor: testActor, options: {guardWaits: true}, observe})
    const out = await h.clock.run(driver.drive())
    expect(out.exitCode).toBe(3)
    const afterGuard = lines.slice(lines.findIndex((l) => l.includes('gates still measured')))
    expect(afterGuard[0]).toMatch(/waiting for `gray promote`; gates still measured every 30s at 50% to gray$/)
    // ~100 guard rounds, two verdicts: one pass line, one fail line (the second fail rolls back)
    expect(afterGuard.filter((l) => /gate errors: pass/.test(l))).toHaveLength(1)
    expect(afterGuard.filter((l) => /gate errors: fail/.test(l))).toHaveLength(1)
    expect(afterGuard.some((l) => /ROLLING BACK: gate errors failed/.test(l))).toBe(true)
  })
})

function statusDoc(run: Partial<NonNullable<StatusDocument['run']>>): StatusDocument {
  return {
    service: 'shop',
    run: {
      id: 'r1',
      version: 'v2',
      previousVersion: 'v1',
      state: 'waiting',
      step: {index: 1, count: 2, weight: 50, startedAt: null, bakeEndsAt: null},
      gateway: {intendedWeight: 50, appliedWeight: 50, mode: 'split', revision: 'r', drift: false},
      hosts: [],
      gates: [],
      driver: {kind: 'cli', pid: 7, host: 'h', user: 'u', alive: true},
      guarded: true,
      reason: null,
      warnings: [],
      startedAt: '2026-12-03T06:00:00.000Z',
      updatedAt: '2026-12-03T06:00:00.000Z',
      ...run,
    },
    events: [],
  }
}

describe('status of a guarded hold', () => {
  const guard = {reason: 'waiting for gray promote', weight: 50, intervalMs: 30_000, since: '2026-12-03T06:00:00.000Z', lastMeasuredAt: '2026-12-03T06:10:30.000Z'}

  it('says the wait is guarded, how often and when the gates were last measured', () => {
    const text = plain(renderStatus(statusDoc({guard}), {trend: false}))
    expect(text).toContain('  guarded: waiting for `gray promote`; gates still measured every 30s at 50% (last 06:10:30), a failing gate rolls back')
    expect(text).not.toContain('UNGUARDED')
    const board = renderBoard(statusDoc({guard}), {width: 120, height: 40, now: Date.parse('2026-12-03T06:11:00Z'), color: false}).map(plain)
    expect(board.some((l) => l.startsWith('guard   waiting for `gray promote`; gates still measured every 30s'))).toBe(true)
  })

  it('a paused run with no traffic to gray: nothing to guard, said so', () => {
    expect(guardText({reason: 'paused by oncall', weight: 0, intervalMs: null, unmeasured: 'no traffic reaches gray (0%)', since: guard.since, lastMeasuredAt: null})).toBe(
      'paused (paused by oncall); nothing to guard: no traffic reaches gray (0%); the driver acts on a request at once',
    )
  })

  it('a waiting run nothing drives is UNGUARDED, with no guard line', () => {
    const text = plain(renderStatus(statusDoc({guarded: false, driver: {kind: 'cli', pid: 7, host: 'h', user: 'u', alive: false}}), {trend: false}))
    expect(text).toContain('UNGUARDED')
    expect(text).not.toContain('guarded:')
  })
})
