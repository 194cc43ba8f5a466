// The regex forms of rules must accept exactly what decide.ts accepts.
import {describe, expect, test} from 'vitest'
import {integerRangePattern, regexLiteral} from '../../../src/adapters/gateways/patterns.js'
import {ruleMatches} from '../../../src/core/policy/decide.js'

function rangeMatches(min: number, max: number, text: string): boolean {
  return new RegExp(`^${integerRangePattern(min, max)}$`).test(text)
}

function decideRange(min: number, max: number, text: string): boolean {
  return ruleMatches({kind: 'range', field: {source: 'header', name: 'x'}, min, max}, {headers: {x: text}, cookies: {}, query: {}, ip: ''})
}

describe('integerRangePattern', () => {
  const ranges: [number, number][] = [
    [1000, 1999],
    [0, 0],
    [0, 9],
    [7, 7],
    [5, 123],
    [99, 1001],
    [1, 100_000],
    [-50, 50],
    [-120, -7],
    [-5, 0],
    [0, 999_999],
    [123_456, 987_654],
  ]
  test.each(ranges)('[%i, %i] matches exactly the integers decide.ts puts in it', (min, max) => {
    const texts: string[] = []
    for (let n = Math.min(min, 0) - 150; n <= Math.max(max, 0) + 150; n += n > 2000 || n < -2000 ? 997 : 1) texts.push(String(n))
    texts.push(`0${min}`, `00${max}`, `-0`, `-00`, `${max}.5`, `${min}x`, ` ${min}`, '', '-', '+1', `1e3`)
    const wrong = texts.filter((text) => rangeMatches(min, max, text) !== decideRange(min, max, text))
    expect(wrong).toEqual([])
  })

  test('refuses a reversed range', () => {
    expect(() => integerRangePattern(5, 1)).toThrow(RangeError)
  })
})

describe('regexLiteral', () => {
  test.each(['d-42', 'a.b*c', '^$()[]{}|?+\\/', 'naïve ☃', 'x y\tz', '"quoted"'])('matches %j literally and nothing else', (text) => {
    const pattern = new RegExp(`^${regexLiteral(text).replace(/\\x([0-9a-f]{2})/g, (_, hex: string) => `\\x${hex}`)}$`)
    // JS reads \xHH as a code point; compare on the UTF-8 bytes as PCRE does
    const bytes = Buffer.from(text, 'utf8').toString('latin1')
    expect(pattern.test(bytes)).toBe(true)
    expect(pattern.test(`${bytes}x`)).toBe(false)
    expect(regexLiteral(text)).toMatch(/^[A-Za-z0-9_\\\x21-\x7e]*$/)
  })
})
