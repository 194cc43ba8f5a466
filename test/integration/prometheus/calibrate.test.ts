// gray calibrate against a real Prometheus holding two hours of past data, backfilled with
// promtool tsdb create-blocks-from openmetrics: four stable hosts on v1, 50 requests/s each at
// 1% errors. `calm_*` errors are Poisson per host (φ = 1); `wild_*` errors follow a rate that
// changes every minute per host by a gamma factor (mean 1, variance 1), far more variable.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {calibrateResult} from '../../../src/ui/results.js'
import {run} from '../../support/cli.js'
import {skipWithoutPrometheus, startPrometheus, type RunningPrometheus} from '../../support/prometheus.js'

const STEP_S = 10
const HOUR_S = 3600
const HOSTS = ['s1', 's2', 's3', 's4']

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function poisson(u: () => number, mean: number): number {
  let k = 0
  let p = Math.exp(-mean)
  let cdf = p
  const x = u()
  while (x > cdf && k < 10_000) {
    k++
    p *= mean / k
    cdf += p
  }
  return k
}

/** Counters every 10 s for two hours from t0 (epoch seconds), as OpenMetrics text. */
function history(t0: number): string {
  const u = rng(7)
  const lines: string[] = []
  for (const family of ['calm', 'wild']) {
    lines.push(`# TYPE ${family}_requests counter`)
    for (const host of HOSTS) {
      let ok = 0
      let bad = 0
      let factor = 1
      for (let t = 0; t <= 2 * HOUR_S; t += STEP_S) {
        lines.push(`${family}_requests_total{host="${host}",version="v1",code="200"} ${ok} ${t0 + t}`)
        lines.push(`${family}_requests_total{host="${host}",version="v1",code="500"} ${bad} ${t0 + t}`)
        // an exponential factor (gamma of shape 1) per host and minute
        if (family === 'wild' && t % 60 === 0) factor = -Math.log(1 - u())
        const errors = poisson(u, 500 * 0.01 * factor)
        bad += errors
        ok += 500 - Math.min(500, errors)
      }
    }
  }
  lines.push('# EOF', '')
  return lines.join('\n')
}

describe.skipIf(skipWithoutPrometheus)('gray calibrate against a real Prometheus with backfilled history', () => {
  let prometheus: RunningPrometheus
  let dir: string
  const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 3 * HOUR_S
  const iso = (s: number) => new Date(s * 1000).toISOString()

  beforeAll(async () => {
    prometheus = await startPrometheus({backfill: history(t0)})
    await prometheus.waitFor(`sum(wild_requests_total @ ${t0 + 2 * HOUR_S})`, (v) => v > 0, 60_000)
    dir = mkdtempSync(path.join(tmpdir(), 'gray-calibrate-'))
    const check = (family: string) => [
      `    - name: ${family}`,
      '      source: prom',
      `      errors: sum(increase(${family}_requests_total{version="{version}",host=~"{hosts}",code="500"}[{window}]))`,
      `      total: sum(increase(${family}_requests_total{version="{version}",host=~"{hosts}"}[{window}]))`,
      '      judge: sequential',
      '      baseline: {maxIncrease: 1.5}',
    ]
    const yaml = [
      'service: checkout',
      'hosts:',
      '  stable: [{name: s1, address: "127.0.0.1:11"}, {name: s2, address: "127.0.0.1:12"}, {name: s3, address: "127.0.0.1:13"}, {name: s4, address: "127.0.0.1:14"}]',
      '  gray: [127.0.0.1:10]',
      'deploy: {command: ["true"]}',
      'gateway: {type: sandbox}',
      'steps: [{weight: 10, bake: 5m}]',
      `metrics: {prom: {type: prometheus, url: "${prometheus.url}"}}`,
      'gates:',
      '  interval: 60s',
      '  checks:',
      ...check('calm'),
      ...check('wild'),
      // no {hosts}: both groups would read the same numbers
      '    - name: fleet',
      '      source: prom',
      '      errors: sum(increase(calm_requests_total{version="{version}",code="500"}[{window}]))',
      '      total: sum(increase(calm_requests_total{version="{version}"}[{window}]))',
      '      judge: sequential',
      '      baseline: {maxIncrease: 1.5}',
      '',
    ].join('\n')
    writeFileSync(path.join(dir, 'gray.yaml'), yaml)
  }, 120_000)

  afterAll(async () => {
    await prometheus?.stop()
  })

  test('estimates φ near 1 for Poisson errors and far above it for wandering rates, with the line to paste', async () => {
    const r = await run(['calibrate', '--from', iso(t0 + 60), '--to', iso(t0 + 2 * HOUR_S), '--version', 'v1', '--json'], {cwd: dir, timeoutMs: 120_000})
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = calibrateResult.parse(JSON.parse(r.stdout))
    expect(doc.groups).toEqual({a: ['s1', 's3'], b: ['s2', 's4']})
    const [calm, wild, fleet] = doc.checks
    // 119 intervals of a minute, each with about 60 errors per group
    expect(calm?.intervals).toBe(119)
    expect(calm?.low as number).toBeLessThan(1)
    expect(calm?.high as number).toBeGreaterThan(1)
    expect(calm?.recommended as number).toBeLessThanOrEqual(1.4)
    expect(wild?.phi as number).toBeGreaterThan(5)
    expect(wild?.line).toBe(`overdispersion: ${wild?.recommended}`)
    expect(wild?.recommended as number).toBeGreaterThan(wild?.phi as number)
    expect(fleet).toMatchObject({name: 'fleet', phi: null, line: null})
    expect(fleet?.note).toMatch(/do not all select hosts with \{hosts\}/)
  }, 180_000)

  test('prints it for people, and refuses what it cannot do', async () => {
    const r = await run(['calibrate', '--from', iso(t0 + 60), '--to', iso(t0 + HOUR_S), '--version', 'v1', '--check', 'wild'], {cwd: dir, timeoutMs: 120_000})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/group A: s1, s3/)
    expect(r.stdout).toMatch(/^wild: φ ≈ [\d.]+ \(95% interval [\d.]+–[\d.]+; 59 intervals with errors/m)
    expect(r.stdout).toMatch(/set in the check: {2}overdispersion: [\d.]+$/m)
    const fleet = await run(['calibrate', '--from', iso(t0 + 60), '--to', iso(t0 + HOUR_S), '--version', 'v1', '--check', 'fleet'], {cwd: dir})
    expect(fleet.exitCode).toBe(2)
    expect(fleet.stderr).toMatch(/no check can be calibrated/)
    const both = await run(['calibrate', '--for', '5m', '--from', '1h', '--version', 'v1'], {cwd: dir})
    expect(both.exitCode).toBe(2)
    const neither = await run(['calibrate', '--version', 'v1'], {cwd: dir})
    expect(neither.exitCode).toBe(2)
    expect(neither.stderr).toMatch(/--for 30m .* or --from\/--to/)
    const unknown = await run(['calibrate', '--from', '1h', '--version', 'v1', '--check', 'nope'], {cwd: dir})
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toMatch(/no check named "nope"/)
  }, 180_000)
})
