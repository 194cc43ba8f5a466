// The --watch board, drawn from status documents: it fits the width it is given,
// colours only when asked, and says what on-call needs.
import {describe, expect, it} from 'vitest'

import type {StatusDocument} from '../../../src/services/status.js'
import {renderBoard, trendline} from '../../../src/ui/board.js'

const NOW = Date.parse('2026-11-22T10:00:00.000Z')

function doc(overrides: Partial<NonNullable<StatusDocument['run']>> = {}): StatusDocument {
  return {
    service: 'checkout',
    run: {
      id: '20261122T095000000Z-abcdef',
      version: 'v2',
      previousVersion: 'v1',
      state: 'baking',
      step: {index: 1, count: 4, weight: 10, startedAt: '2026-11-22T09:58:00.000Z', bakeEndsAt: '2026-11-22T10:02:30.000Z'},
      gateway: {intendedWeight: 10, appliedWeight: 10, mode: 'split', revision: 'r.7', drift: false},
      hosts: [
        {name: 'web-gray-1', address: '10.0.0.11:8080', pool: 'gray', version: 'v2', healthy: true, deploying: null},
        {name: 'web-1', address: '10.0.0.21:8080', pool: 'stable', version: 'v1', healthy: null, deploying: null},
        {name: 'web-2', address: '10.0.0.22:8080', pool: 'stable', version: 'v1', healthy: null, deploying: null},
      ],
      gates: [
        {name: 'backend-5xx', verdict: 'pass', value: 0.004, limit: 0.01, baseline: 0.003, samples: 5000, at: '2026-11-22T09:59:59.000Z', reason: 'ok', passes: 7, trend: [0.002, 0.003, null, 0.004]},
        {name: 'crash-free-sessions-of-the-mobile-app', verdict: 'fail', value: 0.98, limit: 0.995, baseline: null, samples: 300, at: '2026-11-22T09:59:59.000Z', reason: 'below', passes: 0, trend: [0.99, 0.98]},
      ],
      driver: {pid: 4242, host: 'ci-runner-7', user: 'deploy', alive: true},
      reason: null,
      warnings: [],
      startedAt: '2026-11-22T09:50:00.000Z',
      updatedAt: '2026-11-22T09:59:59.000Z',
      ...overrides,
    },
    events: [
      {seq: 40, at: '2026-11-22T09:59:58.000Z', type: 'gate.measured', summary: 'gate backend-5xx: pass — 0.004 within max 0.01'},
      {seq: 41, at: '2026-11-22T09:59:59.000Z', type: 'step.started', summary: 'step 2 started: 10%'},
    ],
  }
}

const board = (d: StatusDocument, width = 80, color = false) =>
  renderBoard(d, {width, height: 30, color, now: NOW, intervalMs: 1000, directions: {'crash-free-sessions-of-the-mobile-app': 'min'}})

describe('renderBoard', () => {
  it('fits 80 columns and says step, weights, hosts by version, gates against limits, events and the driver', () => {
    const lines = board(doc())
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80)
    const text = lines.join('\n')
    expect(lines[0]).toMatch(/^checkout v1 → v2 {2}BAKING +10:00:00 · every 1s · Ctrl-C quits$/)
    expect(text).toContain('step 2/4 (10%)  bake ends in 2m30s')
    expect(text).toContain('weight  intended 10%  served 10%')
    expect(text).toMatch(/^ {2}v2 +1 host +web-gray-1$/m)
    expect(text).toMatch(/^ {2}v1 +2 hosts +web-1, web-2$/m)
    expect(text).toMatch(/^ {2}backend-5xx +pass +0\.004 ≤ 0\.01 /m)
    // a min check fails below its limit, and its long name is cut
    expect(text).toMatch(/^ {2}crash-free-sessions… fail +0\.98 ≥ 0\.995 /m)
    expect(text).toContain('step 2 started: 10%')
    expect(text).not.toContain('gate backend-5xx: pass')
    expect(lines.at(-1)).toBe('driver  deploy@ci-runner-7 pid 4242 alive')
  })

  it('cuts every line to a narrow terminal and colours only when asked', () => {
    const narrow = board(doc({reason: 'x'.repeat(200)}), 50)
    for (const l of narrow) expect([...l].length).toBeLessThanOrEqual(50)
    expect(narrow.some((l) => l.endsWith('…'))).toBe(true)
    expect(board(doc()).join('\n')).not.toContain('\u001b[')
    const colored = board(doc(), 80, true).join('\n')
    expect(colored).toContain('\u001b[32mpass')
    expect(colored).toContain('\u001b[31mfail')
  })

  it('shouts drift, an unreadable gateway and a rollback reason', () => {
    expect(board(doc({gateway: {intendedWeight: 10, appliedWeight: 50, mode: 'split', revision: 'x', drift: true}})).join('\n')).toContain('served 50%  DRIFT')
    expect(board(doc({gateway: {intendedWeight: 10, appliedWeight: null, mode: null, revision: null, drift: false, error: 'connect ECONNREFUSED'}})).join('\n')).toContain('served unreadable: connect ECONNREFUSED')
    expect(board(doc({state: 'rolled_back', reason: 'gate backend-5xx failed'})).join('\n')).toMatch(/ROLLED BACK[\s\S]*reason {2}gate backend-5xx failed/)
  })

  it('with no run, says so and waits', () => {
    expect(board({service: 'checkout', run: null, events: []})[0]).toBe('checkout  no run yet')
  })
})

describe('trendline', () => {
  it('scales from 0 to the larger of the values and the limit, leaving gaps for missing values', () => {
    expect(trendline([0.05, null, 0.0], 0.05, 10)).toBe('█ ▁')
    expect(trendline([0.001, 0.002], 0.1, 10)).toBe('▁▁')
    expect(trendline([1, 2, 3, 4, 5], null, 3)).toBe('▅▇█')
  })
})
