// schema/cohort-answer.schema.json is generated from the answer `gray cohort serve`
// sends: it must equal what the code makes (UPDATE_SCHEMA=1 writes it), and
// accept an answer while refusing one that lacks a field clients rely on.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'

import {cohortAnswerJsonSchema} from '../../../src/services/cohort-serve.js'

const FILE = path.resolve('schema/cohort-answer.schema.json')

describe('schema/cohort-answer.schema.json', () => {
  const generated = `${JSON.stringify(cohortAnswerJsonSchema(), null, 2)}\n`
  if (process.env.UPDATE_SCHEMA) writeFileSync(FILE, generated)

  it('is the generated schema (regenerate with UPDATE_SCHEMA=1 npx vitest run test/unit/cohort/answer-schema.test.ts)', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(generated)
  })

  it('accepts an answer and refuses one without gray, tag or revision', () => {
    const schema = z.fromJSONSchema(JSON.parse(readFileSync(FILE, 'utf8')))
    const answer = {service: 'shop', gray: true, cohort: 'gray', tag: {header: 'X-Gray-Tag', value: 'gray'}, revision: 'r.4', run: {id: 'r', state: 'baking', weightBasisPoints: 1000}, why: 'weight', rule: null, bucket: 12}
    expect(schema.safeParse(answer).success).toBe(true)
    for (const field of ['gray', 'tag', 'revision']) {
      const {[field]: _, ...without} = answer as Record<string, unknown>
      expect(schema.safeParse(without).success, field).toBe(false)
    }
    expect(schema.safeParse({...answer, cohort: 'blue'}).success).toBe(false)
  })
})
