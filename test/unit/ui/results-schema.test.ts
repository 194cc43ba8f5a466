// The JSON Schemas of every command's --json result are checked in under
// schema/results/, so a change to a result shape shows up in review.
// Regenerate on purpose with: npm run schema:results (UPDATE_SCHEMA=1).
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'

import {RESULT_SCHEMAS, resultJsonSchema, type ResultName} from '../../../src/ui/results.js'

const DIR = path.resolve('schema/results')
const names = Object.keys(RESULT_SCHEMAS).sort() as ResultName[]
const text = (name: ResultName) => `${JSON.stringify(resultJsonSchema(name), null, 2)}\n`

describe('schema/results/*.schema.json', () => {
  if (process.env.UPDATE_SCHEMA) {
    for (const name of names) writeFileSync(path.join(DIR, `${name}.schema.json`), text(name))
  }

  it.each(names)('%s.schema.json is the generated schema (regenerate with npm run schema:results)', (name) => {
    const file = path.join(DIR, `${name}.schema.json`)
    expect(existsSync(file), `${file} is missing`).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe(text(name))
  })

  it('every gray command has one (oclif.manifest.json, written by npm run build)', () => {
    const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, unknown>}
    const missing = Object.keys(manifest.commands).filter((id) => !names.includes(id as ResultName))
    expect(missing, 'add the result schema to src/ui/results.ts and run npm run schema:results').toEqual([])
  })

  it('holds no schema of a result that no longer exists', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.schema.json'))
    expect(files.sort()).toEqual(names.map((n) => `${n}.schema.json`))
  })

  it('the checked-in status schema rejects a document missing a field scripts rely on', () => {
    const schema = z.fromJSONSchema(JSON.parse(readFileSync(path.join(DIR, 'status.schema.json'), 'utf8')))
    const ok = {service: 's', run: null, events: []}
    expect(schema.safeParse(ok).success).toBe(true)
    expect(schema.safeParse({service: 's', events: []}).success).toBe(false)
    expect(schema.safeParse({...ok, extra: 1}).success).toBe(false)
  })
})
