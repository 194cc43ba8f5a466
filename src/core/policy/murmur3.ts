// MurmurHash3 x64 128, seed 0, first 64 bits: what BFE's condition primitives
// `req_*_value_hash_in` and `req_cip_hash_in` compute (bfe_basic/condition:
// GetHash = murmur3.Sum64(value) % 10000, github.com/spaolacci/murmur3, whose
// Sum64 is h1 of MurmurHash3_x64_128).

const MASK = (1n << 64n) - 1n
const C1 = 0x87c37b91114253d5n
const C2 = 0x4cf5ad432745937fn

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK
const mul = (a: bigint, b: bigint) => (a * b) & MASK

function fmix(k: bigint): bigint {
  k ^= k >> 33n
  k = mul(k, 0xff51afd7ed558ccdn)
  k ^= k >> 33n
  k = mul(k, 0xc4ceb9fe1a85ec53n)
  k ^= k >> 33n
  return k
}

function lane(data: Uint8Array, at: number, length: number): bigint {
  let k = 0n
  for (let i = length - 1; i >= 0; i--) k = (k << 8n) | BigInt(data[at + i] as number)
  return k
}

/** h1 of MurmurHash3_x64_128(data, seed) as an unsigned 64-bit bigint. */
export function murmur3Sum64(data: Uint8Array, seed = 0): bigint {
  let h1 = BigInt(seed >>> 0)
  let h2 = BigInt(seed >>> 0)
  const blocks = Math.floor(data.length / 16)
  for (let b = 0; b < blocks; b++) {
    let k1 = lane(data, b * 16, 8)
    let k2 = lane(data, b * 16 + 8, 8)
    k1 = mul(rotl(mul(k1, C1), 31n), C2)
    h1 ^= k1
    h1 = (mul(rotl(h1, 27n), 1n) + h2) & MASK
    h1 = (mul(h1, 5n) + 0x52dce729n) & MASK
    k2 = mul(rotl(mul(k2, C2), 33n), C1)
    h2 ^= k2
    h2 = (rotl(h2, 31n) + h1) & MASK
    h2 = (mul(h2, 5n) + 0x38495ab5n) & MASK
  }
  const tail = blocks * 16
  const rest = data.length - tail
  if (rest > 8) {
    let k2 = lane(data, tail + 8, rest - 8)
    k2 = mul(rotl(mul(k2, C2), 33n), C1)
    h2 ^= k2
  }
  if (rest > 0) {
    let k1 = lane(data, tail, Math.min(rest, 8))
    k1 = mul(rotl(mul(k1, C1), 31n), C2)
    h1 ^= k1
  }
  const len = BigInt(data.length)
  h1 ^= len
  h2 ^= len
  h1 = (h1 + h2) & MASK
  h2 = (h2 + h1) & MASK
  h1 = fmix(h1)
  h2 = fmix(h2)
  h1 = (h1 + h2) & MASK
  return h1
}

/** BFE's hash bucket of a value: murmur3.Sum64(value) % 10000. */
export function bfeBucket(value: string): number {
  return Number(murmur3Sum64(Buffer.from(value, 'utf8')) % 10_000n)
}
