// The one door (src/core/redact.ts) on its own: every form of a secret is
// masked, terminal controls are shown as text, gray's own colours pass, and a
// --json document stays one valid document with the same values.
import {afterEach, describe, expect, it} from 'vitest'

import {cleanDeep, clearRegisteredSecrets, redact, registerSecrets, safeOutput, shown} from '../../../src/core/redact.js'
import {RAW_CONTROL} from '../../support/hostile.js'

const SECRET = 's3cr"et\\v@lue with+space'
afterEach(() => clearRegisteredSecrets())

describe('the door', () => {
  it.each([
    ['raw', SECRET],
    ['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(SECRET)],
    ['form-encoded', new URLSearchParams({q: SECRET}).toString().slice(2)],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify(SECRET).slice(1, -1)).slice(1, -1)],
  ])('masks the %s form of a registered secret', (_form, text) => {
    registerSecrets([SECRET])
    expect(redact(`before ${text} after`)).toBe('before *** after')
  })

  it('ignores a registered value too short to mask (validate refuses those)', () => {
    registerSecrets(['abc'])
    expect(redact('abc abcd')).toBe('abc abcd')
  })

  it('shows controls as text but keeps line feeds and tabs', () => {
    expect(shown('a\x1b[2Jb\u202Ec\u009bd\te\nf\rg')).toBe('a\\x1B[2Jb\\u202Ec\\x9Bd\te\nf\\x0Dg')
  })

  it('cleans every string inside journal data, keeping keys and other values', () => {
    registerSecrets([SECRET])
    const data = cleanDeep({error: `said ${SECRET}\x1b]52;c;eA==\x07`, n: 3, list: [SECRET, null], nested: {ok: true}})
    expect(data).toEqual({error: 'said ***\\x1B]52;c;eA==\\x07', n: 3, list: ['***', null], nested: {ok: true}})
  })

  it("lets gray's own colours and cursor moves pass on stdout, and shows any other escape as text", () => {
    const out = safeOutput('\x1b[1;31mred\x1b[22;39m \x1b[2K\x1b[1A\x1b[?25l \x1b]8;;https://x\x07link\x1b]8;;\x07 \x1bP$q\x1b\\')
    expect(out.startsWith('\x1b[1;31mred\x1b[22;39m \x1b[2K\x1b[1A\x1b[?25l ')).toBe(true)
    expect(out.slice(out.indexOf('?25l') + 4)).not.toMatch(RAW_CONTROL)
  })

  it('keeps a --json document valid and its values unchanged, secrets aside', () => {
    registerSecrets([SECRET])
    const doc = {reason: `peer said ${SECRET} \u009b2J \u202Eevil \x1b]0;t\x07`, token: SECRET}
    const out = safeOutput(JSON.stringify(doc, null, 2))
    expect(out).not.toMatch(RAW_CONTROL)
    const parsed = JSON.parse(out) as typeof doc
    expect(parsed.token).toBe('***')
    expect(parsed.reason).toBe(doc.reason.replace(SECRET, '***'))
  })
})
