// BFE's hash: murmur3.Sum64 (h1 of MurmurHash3_x64_128, seed 0) against the
// reference vectors of github.com/spaolacci/murmur3 — the library BFE's
// GetHash calls — and the bucket BFE's *_hash_in primitives take from it.
import {describe, expect, test} from 'vitest'
import {BFE_MURMUR3} from '../../../src/core/policy/split.js'
import {bfeBucket, murmur3Sum64} from '../../../src/core/policy/murmur3.js'

describe("BFE's murmur3.Sum64", () => {
  test.each([
    ['', 0x0000000000000000n],
    ['hello', 0xcbd8a7b341bd9b02n],
    ['hello, world', 0x342fac623a5ebc8en],
    ['19 Jan 2038 at 3:14:07 AM', 0xb89e5988b737affcn],
    ['The quick brown fox jumps over the lazy dog.', 0xcd99481f9ee902c9n],
    ['The quick brown fox jumps over the lazy dog', 0xe34bbc7bbc071b6cn],
    ['test', 0xac7d28cc74bde19dn],
  ])('Sum64(%j)', (text, h1) => {
    expect(murmur3Sum64(Buffer.from(text))).toBe(h1)
  })

  test('the bucket is Sum64 mod 10000, and a key is in gray exactly below its bucket', () => {
    expect(bfeBucket('hello')).toBe(Number(0xcbd8a7b341bd9b02n % 10_000n))
    for (let i = 0; i < 500; i++) {
      const key = `u${i}`
      const bucket = bfeBucket(key)
      for (const weight of [100, 1000, 5000]) expect(BFE_MURMUR3.inGray(key, weight)).toBe(bucket < weight)
    }
  })
})
