// The percentage split, bit for bit as nginx's split_clients: the same key lands
// in the same cohort in the sandbox and behind nginx, and a user once in gray
// stays in gray as the weight grows (gray is the first part of the block).

const M = 0x5bd1e995
const UINT32_MAX = 0xffffffff
export const FULL_WEIGHT_BP = 10_000

/** nginx's ngx_murmur_hash2 (src/core/ngx_murmurhash.c), unsigned 32-bit. */
export function murmurHash2(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let len = data.length
  let h = (0 ^ len) | 0
  let i = 0
  while (len >= 4) {
    let k = view.getUint32(i, true)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
    i += 4
    len -= 4
  }
  switch (len) {
    case 3:
      h ^= view.getUint8(i + 2) << 16
    // falls through
    case 2:
      h ^= view.getUint8(i + 1) << 8
    // falls through
    case 1:
      h ^= view.getUint8(i)
      h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h >>> 0
}

/** The key's hash as nginx computes it over the variable's bytes (UTF-8). */
export function hashOf(key: string): number {
  return murmurHash2(Buffer.from(key, 'utf8'))
}

function checkWeight(weightBp: number): void {
  if (!Number.isInteger(weightBp) || weightBp < 0 || weightBp > FULL_WEIGHT_BP) {
    throw new RangeError(`weight ${weightBp} is not a whole number of basis points in 0..10000`)
  }
}

/**
 * The 32-bit bound split_clients computes for a first part of `weightBp`
 * ("12.34%" is 1234): floor(weightBp * 0xffffffff / 10000), in integers.
 */
export function grayThreshold(weightBp: number): number {
  checkWeight(weightBp)
  const product = weightBp * UINT32_MAX // < 2^53, exact
  return (product - (product % FULL_WEIGHT_BP)) / FULL_WEIGHT_BP
}

/** split_clients' test for the first part: `hash < part.percent`. */
export function inGray(key: string, weightBp: number): boolean {
  return hashOf(key) < grayThreshold(weightBp)
}

/**
 * The key's place on the basis-point scale: the key is in gray exactly when
 * `bucketOf(key) < weightBp`. 0..9999, or 10000 for the one hash (0xffffffff)
 * that nginx leaves out even of a 100.00% part.
 */
export function bucketOf(key: string): number {
  const hash = hashOf(key)
  // the smallest weight whose threshold exceeds the hash, found near its estimate
  let weight = Math.max(0, Math.floor((hash * FULL_WEIGHT_BP) / UINT32_MAX) - 1)
  while (weight <= FULL_WEIGHT_BP && grayThreshold(weight) <= hash) weight++
  return weight - 1
}

/** The weight as split_clients writes it: 125 → "1.25%". */
export function percentText(weightBp: number): string {
  checkWeight(weightBp)
  return `${Math.floor(weightBp / 100)}.${String(weightBp % 100).padStart(2, '0')}%`
}

/** A cohort seed: 8 lowercase hex digits (a run's `cohortSeed`, a policy document's `seed`). */
export const SEED_PATTERN = /^[0-9a-f]{8}$/

/** The text nginx and HAProxy hash: the seed, then the key's value. */
export function seeded(key: string, seed: string | undefined): string {
  return seed ? `${seed}${key}` : key
}

/** Where BFE's bucket ring starts for a seed: gray takes the `weight` buckets from here on, wrapping at 10000. */
export function bucketOffset(seed: string | undefined): number {
  return seed ? Number.parseInt(seed, 16) % FULL_WEIGHT_BP : 0
}
