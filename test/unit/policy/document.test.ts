import {describe, expect, test} from 'vitest'
import {fromDocument, parseSticky, PolicyDocumentError, stickyText, toDocument} from '../../../src/core/policy/document.js'
import type {Policy} from '../../../src/core/ports.js'

const full: Policy = {
  service: 'checkout',
  revision: 'r-7',
  mode: 'split',
  weightBp: 1234,
  sticky: {kind: 'cookie', name: 'uid'},
  rules: [
    {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
    {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']},
    {kind: 'prefix', field: {source: 'query', name: 'team'}, value: 'qa-'},
    {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
    {kind: 'cidr', cidrs: ['10.9.0.0/16', '2001:db8::/32']},
  ],
  tag: {header: 'X-Gray-Tag', value: 'gray'},
  stable: [{name: 'web-1', address: '10.0.0.21:8080'}],
  gray: [{name: 'web-9', address: '[2001:db8::9]:8080'}],
}

function documentWith(over: Record<string, unknown>): Record<string, unknown> {
  return {...(toDocument(full) as unknown as Record<string, unknown>), ...over}
}

function problemOf(value: unknown): {field: string; message: string} {
  try {
    fromDocument(value)
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyDocumentError)
    return {field: (error as PolicyDocumentError).field, message: (error as Error).message}
  }
  throw new Error('the document was accepted')
}

describe('policy document', () => {
  test('writes rules in the gray.yaml form', () => {
    const doc = toDocument(full)
    expect(doc).toMatchObject({apiVersion: 'gray.dev/v1', kind: 'GrayPolicy', weightBasisPoints: 1234, sticky: 'cookie:uid', tag: {header: 'X-Gray-Tag', value: 'gray'}})
    expect(doc.rules).toEqual([
      {header: 'X-Gray', equals: '1'},
      {cookie: 'device_id', in: ['d-42', 'd-43']},
      {query: 'team', prefix: 'qa-'},
      {header: 'X-Uid', range: [1000, 1999]},
      {ip: ['10.9.0.0/16', '2001:db8::/32']},
    ])
  })

  test('round trips through JSON', () => {
    expect(fromDocument(JSON.parse(JSON.stringify(toDocument(full))))).toEqual(full)
    const plain: Policy = {...full, mode: 'plain', weightBp: 0, rules: [], tag: undefined, sticky: {kind: 'ip'}, gray: []}
    const back = fromDocument(JSON.parse(JSON.stringify(toDocument(plain))))
    expect(back).toEqual({...plain, tag: undefined})
    expect('tag' in back).toBe(false)
    expect(toDocument(plain).tag).toBe(null)
  })

  test.each([
    [{apiVersion: 'gray.dev/v2'}, 'apiVersion'],
    [{kind: 'Policy'}, 'kind'],
    [{service: ''}, 'service'],
    [{mode: 'canary'}, 'mode'],
    [{weightBasisPoints: 10_001}, 'weightBasisPoints'],
    [{weightBasisPoints: 12.5}, 'weightBasisPoints'],
    [{sticky: 'session'}, 'sticky'],
    [{rules: [{header: 'X-Uid', range: [9, 1]}]}, 'rules[0].range'],
    [{rules: [{header: 'X-A', equals: '1'}, {ip: ['10.0.0.0/33']}]}, 'rules[1].ip[0]'],
    [{rules: [{ip: ['10.1']}]}, 'rules[0].ip[0]'],
    [{rules: [{cookie: 'a'}]}, 'rules[0]'],
    [{rules: [{cookie: 'a', header: 'b', equals: 'x'}]}, 'rules[0]'],
    [{tag: {header: 'bad header', value: 'x'}}, 'tag.header'],
    [{upstreams: {stable: [], gray: []}}, 'upstreams.stable'],
    [{upstreams: {stable: [{name: 'a', address: 'no-port'}], gray: []}}, 'upstreams.stable[0].address'],
    [{upstreams: {stable: [{name: 'a', address: 'h:1'}], gray: []}}, 'upstreams.gray'],
  ])('rejects %j naming %s', (over, field) => {
    const problem = problemOf(documentWith(over))
    expect(problem.field).toBe(field)
    expect(problem.message).toContain(`invalid at ${field}:`)
  })

  test('accepts an empty stable upstream only at 100%, where stable takes no traffic', () => {
    const full = documentWith({weightBasisPoints: 10_000, upstreams: {stable: [], gray: [{name: 'g', address: 'h:1'}]}})
    expect(fromDocument(full).stable).toEqual([])
    expect(problemOf(documentWith({weightBasisPoints: 9_999, upstreams: {stable: [], gray: [{name: 'g', address: 'h:1'}]}})).field).toBe('upstreams.stable')
  })

  test('rejects what is not a document at all', () => {
    expect(problemOf('nope').message).toMatch(/^The policy document is invalid/)
    expect(problemOf(documentWith({extra: true})).message).toContain('extra')
  })

  test('sticky keys read and write as in gray.yaml', () => {
    expect(parseSticky('header:X-User')).toEqual({kind: 'header', name: 'X-User'})
    expect(parseSticky('ip')).toEqual({kind: 'ip'})
    expect(stickyText({kind: 'query', name: 'u'})).toBe('query:u')
    expect(() => parseSticky('path:x')).toThrow(PolicyDocumentError)
  })
})
