// What a metric source declares about itself, in its own folder
// (<type>/registration.ts), and src/adapters/metrics/registry.ts lists. Light
// like a gateway's: the schema is built from the kit it is handed, the source is
// imported only by create().
import type {z} from 'zod'

import type {SchemaKit} from '../../core/config/schema-kit.js'
import type {MetricSource} from '../../core/ports.js'
import type {SecretFields} from '../gateways/registration.js'

export interface MetricSourceRegistration<C extends {type: string} = {type: string}> {
  type: C['type']
  /** the source's block under metrics: in gray.yaml: a strict object with `type: z.literal(type)` */
  schema(kit: SchemaKit): z.ZodType
  /** keys whose values are secrets */
  secrets?: SecretFields
  /** the source, imported only when a gate reads it */
  create(config: C): Promise<MetricSource>
}
