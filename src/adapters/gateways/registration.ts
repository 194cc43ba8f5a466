// What a gateway declares about itself, in its own folder (<type>/registration.ts),
// and src/adapters/gateways/registry.ts lists. A registration stays light: its
// schema is built from the kit it is handed, its adapter is imported only by
// create(), so `gray status` and `validate` read it without loading either.
import type {z} from 'zod'

import type {GatewayInstance} from '../../core/config/model.js'
import type {Fields} from '../../core/config/plain.js'
import type {SchemaKit} from '../../core/config/schema-kit.js'
import type {Gateway, GatewayCapabilities} from '../../core/ports.js'

/** Every rule kind and every sticky key, for a gateway that expresses them all. */
export const EVERY_RULE: GatewayCapabilities['rules'] = ['equals', 'in', 'prefix', 'range', 'cidr']
export const EVERY_KEY: GatewayCapabilities['sticky'] = ['cookie', 'header', 'query', 'ip']

/** A template `gray init` offers: templates/init/<name>.yaml. */
export interface InitTemplateInfo {
  name: string
  summary: string
  /** its place in `gray init`'s list, lowest first */
  rank: number
}

/** Keys of a block whose values are secrets (src/core/config/secrets.ts, docs/secrets.md). */
export interface SecretFields {
  /** the whole value is a credential */
  credentials?: readonly string[]
  /** an argv: the value of every ${VAR} in its words is a secret */
  argv?: readonly string[]
  /** a URL: its user and password are credentials */
  urls?: readonly string[]
}

/** A value gray sends or runs as written: the placeholders it may hold (none: it may hold none). */
export interface PlaceholderField {
  key: string
  allowed: readonly string[]
}

export interface GatewayRegistration<C extends {type: string} = {type: string}> {
  type: C['type']
  /** the gateway block of gray.yaml: a strict object with `type: z.literal(type)` */
  schema(kit: SchemaKit): z.ZodType
  /** the schema's output with the defaults that depend on the service */
  complete?(parsed: C, service: string): C
  /** paths in the block resolved against gray.yaml's directory */
  paths?(config: C, dir: string): C
  /** one instance's whole config in a fleet; without it, the block with the instance's keys over it */
  instance?(config: C, instance: GatewayInstance<C>): C
  /** keys whose values are secrets */
  secrets?: SecretFields
  /** keys (strings or argv) `validate` checks for placeholders gray would not fill */
  placeholders?: readonly PlaceholderField[]
  capabilities: GatewayCapabilities
  /** how the percentage split hashes a sticky key (src/core/policy/split.ts); default split_clients' MurmurHash2 */
  hash?: 'xxh32' | 'murmur3'
  /** the adapter for `config`, imported only when a command needs a gateway */
  create(config: C, service: string): Promise<Gateway>
  /**
   * The block for `gray status`, read without the schema library: the config with
   * the schema's defaults, or null for anything unusual (the full loader then decides).
   * Without it, status always takes the full loader for this gateway.
   */
  status?(block: Fields, service: string, dir: string): C | null
  init?: readonly InitTemplateInfo[]
}
