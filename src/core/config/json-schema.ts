// The JSON Schema editors use for gray.yaml, generated from the zod schema so
// the two never disagree. schema/gray.schema.json is this, written out.
import {z} from 'zod'
import {grayConfigSchema, inventory, inventoryGuard} from './schema.js'

export const SCHEMA_ID = 'https://github.com/gray-cli/gray/schema/gray.schema.json'

export function configJsonSchema(): Record<string, unknown> {
  // io 'input': describe what the user writes, before durations and hosts are normalised
  const schema = z.toJSONSchema(grayConfigSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    // the guard that tells an inventory from a mis-keyed list has no JSON shape; an inventory's own shape stands in
    override: (ctx) => {
      if (ctx.zodSchema !== inventoryGuard) return
      const {$schema: _, ...shape} = z.toJSONSchema(inventory, {io: 'input', target: 'draft-2020-12', unrepresentable: 'any'})
      Object.assign(ctx.jsonSchema, shape)
    },
  })
  return {...schema, $id: SCHEMA_ID, title: 'gray.yaml', description: 'Configuration of a gray (canary) release run by gray'}
}
