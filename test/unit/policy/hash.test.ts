import {describe, expect, test} from 'vitest'
import {bucketOf, FULL_WEIGHT_BP, grayThreshold, hashOf, inGray, murmurHash2, percentText} from '../../../src/core/policy/hash.js'

// Computed with nginx's ngx_murmur_hash2 and split_clients' threshold code, compiled from C.
const NGINX_HASHES: [string, number][] = [
  ['', 0],
  ['a', 2456313694],
  ['ab', 446775395],
  ['abc', 324500635],
  ['abcd', 646393889],
  ['abcde', 1594468574],
  ['hello world', 1151865881],
  ['user-42', 3766944517],
  ['uid-1000', 4148899471],
  ['10.0.0.1', 2670052029],
  ['::1', 1694102285],
  ['ünïcode', 3661573620],
]

const NGINX_THRESHOLDS: [number, number][] = [
  [1, 429496],
  [100, 42949672],
  [1000, 429496729],
  [1234, 529998964],
  [5000, 2147483647],
  [9999, 4294537798],
  [10000, 4294967295],
]

function keys(count: number, prefix = 'user-'): string[] {
  return Array.from({length: count}, (_, i) => `${prefix}${i}`)
}

describe('murmurHash2', () => {
  test.each(NGINX_HASHES)('hashes %j as nginx does', (key, expected) => {
    expect(hashOf(key)).toBe(expected)
    expect(murmurHash2(Buffer.from(key, 'utf8'))).toBe(expected)
  })

  test('hashes bytes above 0x7f as unsigned, in a view into a larger buffer', () => {
    const backing = Buffer.from([0x11, 0xff, 0xfe, 0x80, 0x7f, 0x00, 0xc3, 0xa9, 0x22])
    expect(murmurHash2(backing.subarray(1, 8))).toBe(3242034960)
  })
})

describe('split_clients threshold', () => {
  test.each(NGINX_THRESHOLDS)('%i basis points → %i', (weightBp, threshold) => {
    expect(grayThreshold(weightBp)).toBe(threshold)
  })

  test('weight 0 sends nobody to gray', () => {
    expect(grayThreshold(0)).toBe(0)
    expect(keys(1000).some((key) => inGray(key, 0))).toBe(false)
  })

  test('rejects weights outside 0..10000 or between basis points', () => {
    expect(() => grayThreshold(-1)).toThrow(RangeError)
    expect(() => grayThreshold(10_001)).toThrow(RangeError)
    expect(() => grayThreshold(12.5)).toThrow(RangeError)
  })

  test('inGray compares hash < threshold exactly', () => {
    // "user-42" hashes to 3766944517: gray from the first weight whose threshold exceeds it
    const hash = hashOf('user-42')
    const entry = Array.from({length: FULL_WEIGHT_BP + 1}, (_, w) => w).find((w) => grayThreshold(w) > hash)
    expect(entry).toBe(8771)
    expect(inGray('user-42', 8770)).toBe(false)
    expect(inGray('user-42', 8771)).toBe(true)
    expect(bucketOf('user-42')).toBe(8770)
  })

  test('percentText writes weights as split_clients reads them', () => {
    expect(percentText(1)).toBe('0.01%')
    expect(percentText(100)).toBe('1.00%')
    expect(percentText(1234)).toBe('12.34%')
    expect(percentText(10_000)).toBe('100.00%')
  })
})

describe('cohorts', () => {
  test('a key in gray at 1% stays in gray at 10% and 50%', () => {
    const early = keys(20_000).filter((key) => inGray(key, 100))
    expect(early.length).toBeGreaterThan(100)
    for (const key of early) {
      expect(inGray(key, 1000)).toBe(true)
      expect(inGray(key, 5000)).toBe(true)
    }
  })

  test('bucketOf(key) < weight is exactly inGray(key, weight)', () => {
    const weights = [0, 1, 7, 100, 1234, 5000, 9999, 10_000]
    for (const key of keys(1000, 'k')) {
      for (const weight of weights) expect(bucketOf(key) < weight).toBe(inGray(key, weight))
    }
  })

  test.each([100, 1000, 5000])('the gray share of 20k keys is within 0.5 points of %i bp', (weightBp) => {
    const all = keys(20_000, 'uid=')
    const share = all.filter((key) => inGray(key, weightBp)).length / all.length
    expect(Math.abs(share * 100 - weightBp / 100)).toBeLessThan(0.5)
  })
})
