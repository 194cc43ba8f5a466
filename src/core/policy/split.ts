// How each gateway places a sticky key on the basis-point scale. A key is in
// gray exactly when its bucket is below the weight, so a user in gray at 1%
// stays in gray at 10% and 50% on every gateway; only the hash differs.
//   nginx, sandbox, http: split_clients' MurmurHash2 (hash.ts)
//   haproxy: `xxh32,mod(10000)` over the key's bytes
//   bfe: `req_*_value_hash_in`: murmur3.Sum64(key) % 10000 (murmur3.ts)
import {gatewayRegistration} from '../../adapters/gateways/registry.js'
import type {GatewayConfig} from '../config/model.js'
import {bucketOf, FULL_WEIGHT_BP, inGray} from './hash.js'
import {bfeBucket} from './murmur3.js'
import {xxh32} from './xxh32.js'

export interface Split {
  /** names the hash in `gray cohort` */
  readonly name: string
  /** 0..9999 (nginx: 10000 for the one hash no part takes) */
  bucketOf(key: string): number
  inGray(key: string, weightBp: number): boolean
}

export const SPLIT_CLIENTS: Split = {name: "split_clients' MurmurHash2", bucketOf, inGray}

export const HAPROXY_XXH32: Split = {
  name: 'HAProxy xxh32,mod(10000)',
  bucketOf: (key) => xxh32(Buffer.from(key, 'utf8')) % FULL_WEIGHT_BP,
  inGray: (key, weightBp) => xxh32(Buffer.from(key, 'utf8')) % FULL_WEIGHT_BP < weightBp,
}

export const BFE_MURMUR3: Split = {
  name: 'BFE murmur3.Sum64 % 10000',
  bucketOf: bfeBucket,
  inGray: (key, weightBp) => bfeBucket(key) < weightBp,
}

/** The split of a gateway type, by the hash its registration names. */
export function splitFor(type: GatewayConfig['type']): Split {
  const hash = gatewayRegistration<GatewayConfig>(type).hash
  if (hash === 'xxh32') return HAPROXY_XXH32
  if (hash === 'murmur3') return BFE_MURMUR3
  return SPLIT_CLIENTS
}
