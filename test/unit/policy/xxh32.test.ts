// XXH32 against the reference vectors of xxHash (seed 0 and a seed), and the
// HAProxy split built on it: buckets nest, so a user in gray stays in gray.
import {describe, expect, test} from 'vitest'
import {HAPROXY_XXH32, SPLIT_CLIENTS, splitFor} from '../../../src/core/policy/split.js'
import {xxh32} from '../../../src/core/policy/xxh32.js'

const bytes = (text: string) => Buffer.from(text, 'utf8')

describe('xxh32', () => {
  test.each([
    ['', 0, 0x02cc5d05],
    ['a', 0, 0x550d7456],
    ['abc', 0, 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
    ['', 1, 0x0b2cb792],
  ])('xxh32(%j, seed %i) = %i', (text, seed, expected) => {
    expect(xxh32(bytes(text), seed)).toBe(expected)
  })

  test('hashes the same bytes the same way at any offset of a larger buffer', () => {
    const whole = bytes('xxNobody inspects the spammish repetition')
    expect(xxh32(whole.subarray(2))).toBe(0xe2293b2f)
  })
})

describe('the HAProxy split', () => {
  test('is the gateway type haproxy; the others keep split_clients', () => {
    expect(splitFor('haproxy')).toBe(HAPROXY_XXH32)
    expect(splitFor('nginx')).toBe(SPLIT_CLIENTS)
    expect(splitFor('sandbox')).toBe(SPLIT_CLIENTS)
  })

  test('a key is in gray exactly below its bucket, so cohorts nest as the weight grows', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `u${i}`
      const bucket = HAPROXY_XXH32.bucketOf(key)
      expect(bucket).toBe(xxh32(bytes(key)) % 10_000)
      for (const weight of [0, 100, 1000, 5000, 10_000]) expect(HAPROXY_XXH32.inGray(key, weight)).toBe(bucket < weight)
    }
  })
})
