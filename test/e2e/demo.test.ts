// `gray demo` as the README runs it: a whole rollout, and a rollback by the gates.
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

// a whole demo rollout is four 5 s bakes, three deploys and the gates' passes: over 60 s at a load of 14 on two
// cores, over 200 s at a load of 22 (the rollbacks: 108 s and 88 s there)
describe('gray demo', {timeout: 600_000}, () => {
  it('--json completes (exit 0): every host on v2, the gateway back to its plain policy', async () => {
    const r = await run(['demo', '--json'], {timeoutMs: 500_000})
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.run.state).toBe('completed')
    expect(doc.run.hosts.map((h: {version: string}) => h.version)).toEqual(['v2', 'v2', 'v2'])
    expect(doc.run.gateway).toMatchObject({mode: 'plain', drift: false})
    expect(doc.run.gates[0].passes).toBeGreaterThanOrEqual(3)
    expect(r.stderr).toBe('')
  })

  it('--fail --json rolls back (exit 3) with the sandbox gateway at weight 0 and every host on v1', async () => {
    const r = await run(['demo', '--fail', '--json'], {timeoutMs: 500_000})
    expect(r.exitCode, r.stderr).toBe(3)
    const doc = JSON.parse(r.stdout)
    expect(doc.run.state).toBe('rolled_back')
    expect(doc.run.reason).toMatch(/gate backend-5xx failed/)
    expect(doc.run.gateway.appliedWeight).toBe(0)
    expect(doc.run.hosts.map((h: {version: string}) => h.version)).toEqual(['v1', 'v1', 'v1'])
  })

  it('prints progress and the outcome for people', async () => {
    const r = await run(['demo', '--fail'], {timeoutMs: 500_000})
    expect(r.exitCode).toBe(3)
    expect(r.stderr).toMatch(/ROLLING BACK: gate backend-5xx failed/)
    expect(r.stdout).toMatch(/rolled back/)
    expect(r.stdout).toMatch(/traffic: \d{1,3}(,\d{3})* responses/)
  })
})
