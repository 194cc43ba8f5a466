// histogram checks: latency judged sequentially on "slower than le" counts per bucket bound.
import {describe, expect, it} from 'vitest'

import type {Check} from '../../../src/core/config/model.js'
import {fmtBound} from '../../../src/core/gates/judge-histogram.js'
import {judge, type Judgement} from '../../../src/core/gates/judge.js'
import type {Evidence} from '../../../src/core/gates/sequential.js'
import type {Measurement} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'

const latency = (over: Partial<Check> = {}): Check =>
  check({name: 'latency', errors: undefined, total: undefined, max: undefined, histogram: 'h', judge: 'sequential', baseline: {maxIncrease: 1.25, minDelta: 0}, minSamples: 0, ...over})

/** Cumulative buckets from the share of requests slower than 100 ms, 250 ms, 500 ms. */
function hist(total: number, slower: [number, number, number]): Measurement {
  const [a, b, c] = slower
  const buckets = [
    {le: 0.1, count: total * (1 - a)},
    {le: 0.25, count: total * (1 - b)},
    {le: 0.5, count: total * (1 - c)},
    {le: Number.POSITIVE_INFINITY, count: total},
  ]
  return {value: null, samples: total, raw: {}, buckets}
}

function run(c: Check, pairs: Array<[Measurement, Measurement | undefined]>): Judgement[] {
  let evidence: Evidence | null = null
  return pairs.map(([g, s]) => {
    const j = judge(c, g, s, evidence)
    evidence = j.evidence ?? evidence
    return j
  })
}

describe('histogram checks', () => {
  it('name the bound that regressed: P(latency > 250 ms)', () => {
    const out = run(latency(), Array.from({length: 20}, () => [hist(600, [0.1, 0.03, 0.001]), hist(5400, [0.1, 0.01, 0.001])] as [Measurement, Measurement]))
    const fail = out.find((j) => j.verdict === 'fail') as Judgement
    expect(fail.decisive).toBe(true)
    expect(fail.reason).toMatch(/^latency regression: P\(latency > 250 ms\): gray 3(\.0)?% vs stable 1(\.0)?%, ratio 3/)
    expect(fail.reason).toContain('3 bounds at α/3')
    expect(fail.value).toBeCloseTo(0.03, 9)
    expect(fail.baseline).toBeCloseTo(0.01, 9)
  })

  it('the same latency on both sides passes, showing the bound with the most evidence', () => {
    const out = run(latency(), Array.from({length: 20}, () => [hist(600, [0.1, 0.01, 0.001]), hist(5400, [0.1, 0.01, 0.001])] as [Measurement, Measurement]))
    expect(out.every((j) => j.verdict === 'pass')).toBe(true)
    expect(out.at(-1)?.reason).toMatch(/^P\(latency > [\d.]+ m?s\): gray .* evidence [\d.e]+ of 300 \(the most of 3 bounds\); this interval gray 600, stable 5400 requests$/)
    expect(Object.keys(out.at(-1)?.evidence?.buckets ?? {})).toEqual(['0.1', '0.25', '0.5'])
  })

  it('buckets that are not counts (a reset) and no buckets are no data; the evidence stays', () => {
    const [first] = run(latency(), [[hist(600, [0.1, 0.01, 0.001]), hist(5400, [0.1, 0.01, 0.001])]])
    const broken: Measurement = {value: null, samples: 600, raw: {}, buckets: [{le: 0.1, count: 700}, {le: Number.POSITIVE_INFINITY, count: 600}]}
    for (const g of [broken, {value: null, samples: null, raw: {}}]) {
      const j = judge(latency(), g, hist(5400, [0.1, 0.01, 0.001]), first?.evidence)
      expect(j.verdict).toBe('no-data')
      expect(j.evidence).toEqual(first?.evidence)
    }
  })

  it('without stable buckets (100%), gray still counts and nothing is compared', () => {
    const [first] = run(latency(), [[hist(600, [0.1, 0.01, 0.001]), hist(5400, [0.1, 0.01, 0.001])]])
    const j = judge({...latency(), baseline: undefined}, hist(600, [0.5, 0.5, 0.5]), undefined, first?.evidence)
    expect(j.verdict).toBe('pass')
    expect(j.reason).toContain('stable: no buckets')
    expect(j.evidence?.buckets?.['0.25']?.ll).toEqual(first?.evidence?.buckets?.['0.25']?.ll)
  })

  it('bounds read in seconds, shown as people write them', () => {
    expect(fmtBound(0.25)).toBe('250 ms')
    expect(fmtBound(0.005)).toBe('5 ms')
    expect(fmtBound(2.5)).toBe('2.5 s')
  })
})
