// XXH32 (xxHash, 32-bit), seed 0: what HAProxy's `xxh32` converter computes
// over a sample's bytes (src/xxhash.c, XXH32(data, len, seed)).

const P1 = 0x9e3779b1
const P2 = 0x85ebca77
const P3 = 0xc2b2ae3d
const P4 = 0x27d4eb2f
const P5 = 0x165667b1

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) >>> 0, 13), P1) >>> 0
}

/** XXH32 of `data` with `seed`, unsigned 32-bit. */
export function xxh32(data: Uint8Array, seed = 0): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const len = data.length
  let i = 0
  let h: number
  if (len >= 16) {
    let v1 = (seed + P1 + P2) >>> 0
    let v2 = (seed + P2) >>> 0
    let v3 = seed >>> 0
    let v4 = (seed - P1) >>> 0
    while (i <= len - 16) {
      v1 = round(v1, view.getUint32(i, true))
      v2 = round(v2, view.getUint32(i + 4, true))
      v3 = round(v3, view.getUint32(i + 8, true))
      v4 = round(v4, view.getUint32(i + 12, true))
      i += 16
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0
  } else {
    h = (seed + P5) >>> 0
  }
  h = (h + len) >>> 0
  while (i + 4 <= len) {
    h = Math.imul(rotl((h + Math.imul(view.getUint32(i, true), P3)) >>> 0, 17), P4) >>> 0
    i += 4
  }
  while (i < len) {
    h = Math.imul(rotl((h + Math.imul(view.getUint8(i), P5)) >>> 0, 11), P1) >>> 0
    i++
  }
  h ^= h >>> 15
  h = Math.imul(h, P2) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, P3) >>> 0
  h ^= h >>> 16
  return h >>> 0
}
