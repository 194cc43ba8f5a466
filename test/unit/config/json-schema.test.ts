// schema/gray.schema.json is generated from the zod schema; this test keeps the
// two equal. Regenerate with: UPDATE_SCHEMA=1 npx vitest run test/unit/config/json-schema.test.ts
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {configJsonSchema} from '../../../src/core/config/json-schema.js'

const FILE = path.resolve('schema/gray.schema.json')

describe('editor JSON Schema', () => {
  it('is the committed schema/gray.schema.json', () => {
    const generated = `${JSON.stringify(configJsonSchema(), null, 2)}\n`
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(FILE, generated)
    expect(existsSync(FILE), 'schema/gray.schema.json is missing: run with UPDATE_SCHEMA=1').toBe(true)
    expect(readFileSync(FILE, 'utf8'), 'schema/gray.schema.json is stale: run with UPDATE_SCHEMA=1').toBe(generated)
  })

  it('describes what users write, not the normalised shape', () => {
    const schema = configJsonSchema() as {
      required: string[]
      additionalProperties: boolean
      properties: Record<string, {properties?: Record<string, {default?: unknown; type?: unknown}>; oneOf?: unknown[]}>
    }
    expect(schema.required).toEqual(['service', 'hosts', 'deploy', 'gateway'])
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.gateway?.oneOf).toHaveLength(7)
    const deploy = schema.properties.deploy?.properties ?? {}
    expect(deploy.timeout).toMatchObject({type: 'string', default: '5m'})
    expect(deploy.timeoutMs).toBeUndefined()
    expect(deploy.command).toMatchObject({type: 'array'})
  })
})
