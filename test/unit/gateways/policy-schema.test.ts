// schema/policy.schema.json is generated: it must equal what the code makes
// (UPDATE_SCHEMA=1 writes it), and it must accept what gray accepts.
import {readFile, writeFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {describe, expect, test} from 'vitest'
import {policyDocumentShape, policyJsonSchema} from '../../../src/adapters/gateways/http/document-schema.js'
import {fromDocument, toDocument} from '../../../src/core/policy/document.js'
import type {Policy} from '../../../src/core/ports.js'

const FILE = fileURLToPath(new URL('../../../schema/policy.schema.json', import.meta.url))

const policy: Policy = {
  service: 'checkout',
  revision: 'r7',
  mode: 'split',
  weightBp: 125,
  sticky: {kind: 'cookie', name: 'uid'},
  rules: [
    {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
    {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42']},
    {kind: 'prefix', field: {source: 'query', name: 'build'}, value: 'beta'},
    {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
    {kind: 'cidr', cidrs: ['10.9.0.0/16', 'fd00::/8']},
  ],
  tag: {header: 'X-Gray-Tag', value: 'gray'},
  stable: [{name: 'web-1', address: '10.0.0.21:8080'}],
  gray: [{name: 'web-9', address: '[fd00::9]:8080'}],
}

describe('policy document JSON Schema', () => {
  test('schema/policy.schema.json is the generated schema', async () => {
    const generated = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`
    if (process.env.UPDATE_SCHEMA === '1') await writeFile(FILE, generated)
    expect(await readFile(FILE, 'utf8')).toBe(generated)
  })

  const valid = toDocument(policy)
  const variants: [string, unknown, boolean][] = [
    ['a full document', valid, true],
    ['a plain document without gray hosts', {...valid, mode: 'plain', rules: [], upstreams: {...valid.upstreams, gray: []}}, true],
    ['a rule with two sources', {...valid, rules: [{header: 'a', cookie: 'b', equals: 'x'}]}, false],
    ['a rule with two operators', {...valid, rules: [{header: 'a', equals: 'x', prefix: 'y'}]}, false],
    ['a rule with no operator', {...valid, rules: [{header: 'a'}]}, false],
    ['an empty in list', {...valid, rules: [{cookie: 'a', in: []}]}, false],
    ['an ip rule that is not a CIDR', {...valid, rules: [{ip: ['10.0.0.1']}]}, false],
    ['a weight above 10000', {...valid, weightBasisPoints: 10_001}, false],
    ['a fractional weight', {...valid, weightBasisPoints: 12.5}, false],
    ['an unknown field', {...valid, extra: 1}, false],
    ['another apiVersion', {...valid, apiVersion: 'gray.dev/v2'}, false],
    ['a host without port', {...valid, upstreams: {...valid.upstreams, stable: [{name: 'a', address: '10.0.0.1'}]}}, false],
    ['a bad sticky key', {...valid, sticky: 'cookie'}, false],
  ]
  test.each(variants)('agrees with fromDocument on %s', (_, doc, accepted) => {
    const byGray = (() => {
      try {
        fromDocument(doc)
        return true
      } catch {
        return false
      }
    })()
    expect(byGray).toBe(accepted)
    expect(policyDocumentShape.safeParse(doc).success).toBe(accepted)
  })
})
