// gray rehearse against a real Prometheus holding two hours of past data, backfilled
// with promtool tsdb create-blocks-from openmetrics: 200 requests/s, gray at 10% of them,
// both versions at 1% errors for an hour, then gray at 3%.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {rehearseResult} from '../../../src/ui/results.js'
import {run} from '../../support/cli.js'
import {skipWithoutPrometheus, startPrometheus, type RunningPrometheus} from '../../support/prometheus.js'

const STEP_S = 10
const HOUR_S = 3600

/** Counters every 10 s for two hours from t0 (epoch seconds), as OpenMetrics text. */
function history(t0: number): string {
  const lines = ['# TYPE http_requests counter']
  const series = (version: string, code: string, perSecond: (t: number) => number) => {
    let count = 0
    for (let t = 0; t <= 2 * HOUR_S; t += STEP_S) {
      lines.push(`http_requests_total{service="checkout",version="${version}",code="${code}"} ${Math.round(count)} ${t0 + t}`)
      count += perSecond(t) * STEP_S
    }
  }
  const grayErrors = (t: number) => (t < HOUR_S ? 0.01 : 0.03)
  series('v1', '200', () => 180 * 0.99)
  series('v1', '500', () => 180 * 0.01)
  series('v2', '200', (t) => 20 * (1 - grayErrors(t)))
  series('v2', '500', (t) => 20 * grayErrors(t))
  lines.push('# EOF', '')
  return lines.join('\n')
}

describe.skipIf(skipWithoutPrometheus)('gray rehearse against a real Prometheus with backfilled history', () => {
  let prometheus: RunningPrometheus
  let dir: string
  const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 3 * HOUR_S

  beforeAll(async () => {
    prometheus = await startPrometheus({backfill: history(t0)})
    await prometheus.waitFor(`sum(http_requests_total{version="v2"} @ ${t0 + 2 * HOUR_S})`, (v) => v > 0, 60_000)
    dir = mkdtempSync(path.join(tmpdir(), 'gray-rehearse-'))
    const yaml = [
      'service: checkout',
      'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
      'deploy: {command: ["true"]}',
      'gateway: {type: sandbox}',
      // the run as it would have gone: an hour at 10%, then 50%; gray regresses with the second step
      'steps: [{weight: 10, bake: 55m}, {weight: 50, bake: 60m}]',
      `metrics: {prom: {type: prometheus, url: "${prometheus.url}"}}`,
      'gates:',
      '  interval: 60s',
      '  checks:',
      '    - name: backend-5xx',
      '      source: prom',
      '      errors: sum(increase(http_requests_total{service="{service}",version="{version}",code=~"5.."}[{window}]))',
      '      total: sum(increase(http_requests_total{service="{service}",version="{version}"}[{window}]))',
      '      judge: sequential',
      '      baseline: {maxIncrease: 1.5}',
      '',
    ].join('\n')
    writeFileSync(path.join(dir, 'gray.yaml'), yaml)
  }, 120_000)

  afterAll(async () => {
    await prometheus?.stop()
  })

  const iso = (s: number) => new Date(s * 1000).toISOString()

  test('replays the gates interval by interval and says when the run would have rolled back', async () => {
    const r = await run(['rehearse', '--from', iso(t0 + 300), '--to', iso(t0 + 2 * HOUR_S), '--version', 'v2', '--previous-version', 'v1', '--json'], {cwd: dir, timeoutMs: 120_000})
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = rehearseResult.parse(JSON.parse(r.stdout))
    const check = doc.checks[0] as (typeof doc.checks)[number]
    expect(check.judge).toBe('sequential')
    // healthy for the first hour: every measurement passes until gray turns bad at t0 + 1 h
    if (!doc.rollback) throw new Error('the rehearsal found no rollback')
    const rollbackAt = Date.parse(doc.rollback.at) / 1000
    expect(rollbackAt).toBeGreaterThan(t0 + HOUR_S)
    expect(rollbackAt - (t0 + HOUR_S)).toBeLessThan(15 * 60)
    expect(check.passes).toBeGreaterThanOrEqual(50)
    expect(doc.rollback.reason).toMatch(/^regression: gray [\d.]+% vs stable 1(\.0)?%/)
    expect(doc.notable.filter((m) => m.rollback)).toHaveLength(1)
  }, 180_000)

  test('prints it for people, and refuses a range that is not one', async () => {
    const r = await run(['rehearse', '--from', iso(t0 + 300), '--to', iso(t0 + 2 * HOUR_S), '--version', 'v2', '--previous-version', 'v1'], {cwd: dir, timeoutMs: 120_000})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/ROLL BACK — regression: gray/)
    expect(r.stdout).toMatch(/the run would have rolled back at /)
    const bad = await run(['rehearse', '--from', iso(t0 + 600), '--to', iso(t0 + 300), '--version', 'v2', '--previous-version', 'v1'], {cwd: dir})
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/--to .* must be after --from/)
    const noPrev = await run(['rehearse', '--from', '2h', '--version', 'v2'], {cwd: dir})
    expect(noPrev.exitCode).toBe(2)
    expect(noPrev.stderr).toContain('pass --previous-version')
  }, 180_000)
})
