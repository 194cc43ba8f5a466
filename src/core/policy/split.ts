// How each gateway places a sticky key on the basis-point scale. A key is in
// gray exactly when its bucket is below the weight, so a user in gray at 1%
// stays in gray at 10% and 50% on every gateway; only the hash differs.
//   nginx, sandbox, http: split_clients' MurmurHash2 (hash.ts)
//   haproxy: `xxh32,mod(10000)` over the key's bytes
//   bfe: `req_*_value_hash_in`: murmur3.Sum64(key) % 10000 (murmur3.ts)
// A run's cohort seed (docs/cohort.md, "Rotating cohorts") picks other users
// for the next run: nginx and HAProxy hash the seed followed by the key; BFE,
// whose primitives hash the key alone, turns its bucket ring by an offset the
// seed gives. No seed (or ''): exactly the unseeded hash.
import {gatewayRegistration} from '../../adapters/gateways/registry.js'
import type {GatewayConfig} from '../config/model.js'
import {bucketOf, bucketOffset, FULL_WEIGHT_BP, inGray, seeded} from './hash.js'
import {bfeBucket} from './murmur3.js'
import {xxh32} from './xxh32.js'

export interface Split {
  /** names the hash in `gray cohort` */
  readonly name: string
  /** 0..9999 (nginx: 10000 for the one hash no part takes); `seed`: the run's cohort seed */
  bucketOf(key: string, seed?: string): number
  inGray(key: string, weightBp: number, seed?: string): boolean
}

export const SPLIT_CLIENTS: Split = {
  name: "split_clients' MurmurHash2",
  bucketOf: (key, seed) => bucketOf(seeded(key, seed)),
  inGray: (key, weightBp, seed) => inGray(seeded(key, seed), weightBp),
}

const xxh32Bucket = (key: string, seed?: string) => xxh32(Buffer.from(seeded(key, seed), 'utf8')) % FULL_WEIGHT_BP

export const HAPROXY_XXH32: Split = {
  name: 'HAProxy xxh32,mod(10000)',
  bucketOf: xxh32Bucket,
  inGray: (key, weightBp, seed) => xxh32Bucket(key, seed) < weightBp,
}

/** BFE's bucket counted from the seed's offset: gray exactly while it is below the weight. */
const bfeTurned = (key: string, seed?: string) => (bfeBucket(key) - bucketOffset(seed) + FULL_WEIGHT_BP) % FULL_WEIGHT_BP

export const BFE_MURMUR3: Split = {
  name: 'BFE murmur3.Sum64 % 10000',
  bucketOf: bfeTurned,
  inGray: (key, weightBp, seed) => bfeTurned(key, seed) < weightBp,
}

/** The split of a gateway type, by the hash its registration names. */
export function splitFor(type: GatewayConfig['type']): Split {
  const hash = gatewayRegistration<GatewayConfig>(type).hash
  if (hash === 'xxh32') return HAPROXY_XXH32
  if (hash === 'murmur3') return BFE_MURMUR3
  return SPLIT_CLIENTS
}
