import {describe, expect, test} from 'vitest'
import {ExpositionError, parseExposition, seriesKey} from '../../../src/adapters/metrics/scrape/exposition.js'
import {parseSelector, SelectorError, selects} from '../../../src/adapters/metrics/scrape/selector.js'

const TEXT = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",path="/a\\"b\\\\c\\nd"} 1027 1395066363000
http_requests_total{code="500", path="/x",} 3
  # a free comment
up 1
latency_seconds NaN
temp{room="x"} -Inf
hot +Inf
sci 1.5e3
`

describe('exposition parser', () => {
  test('reads samples, escapes, timestamps and special values', () => {
    const samples = parseExposition(TEXT)
    expect(samples.size).toBe(7)
    const ok = [...samples.values()].find((s) => s.labels['code'] === '200')
    expect(ok).toEqual({name: 'http_requests_total', labels: {code: '200', path: '/a"b\\c\nd'}, value: 1027})
    expect(samples.get(seriesKey('http_requests_total', {path: '/x', code: '500'}))?.value).toBe(3)
    expect(samples.get('latency_seconds{}')?.value).toBeNaN()
    expect(samples.get(seriesKey('temp', {room: 'x'}))?.value).toBe(Number.NEGATIVE_INFINITY)
    expect(samples.get('hot{}')?.value).toBe(Number.POSITIVE_INFINITY)
    expect(samples.get('sci{}')?.value).toBe(1500)
  })

  test.each([
    ['a{b="c} 1', 1, 'not closed'],
    ['ok 1\nbad{x="\\t"} 1', 2, 'invalid escape'],
    ['ok 1\n\nx 1 2 3', 3, 'unexpected text'],
    ['x one', 1, 'not a number'],
    ['x{a="1",a="2"} 1', 1, 'appears twice'],
    ['x 1\nx 2', 2, 'appears twice'],
    ['# TYPE x countr', 1, 'must be one of'],
    ['x{a=1} 1', 1, 'double quotes'],
    ['x 1 12.5', 1, 'timestamp'],
    ['{a="b"} 1', 1, 'metric name'],
    ['x{a="b"}1', 1, 'expected a space'],
  ])('rejects %j at line %i', (text, line, problem) => {
    let caught: unknown
    try {
      parseExposition(text)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ExpositionError)
    expect((caught as ExpositionError).line).toBe(line)
    expect((caught as ExpositionError).problem).toContain(problem)
  })
})

describe('selectors', () => {
  const sample = {name: 'http_requests_total', labels: {code: '503', version: 'v2', path: '/a'}, value: 1}

  test.each([
    ['http_requests_total', true],
    ['http_requests_total{code=~"5.."}', true],
    ['http_requests_total{code=~"5"}', false],
    ['http_requests_total{code!~"2..|3..", version="v2"}', true],
    ['http_requests_total{version!="v2"}', false],
    ['http_requests_total{missing=""}', true],
    ['http_requests_total{missing!="x"}', true],
    ["{__name__='http_requests_total', path=~'/.*',}", true],
    ['other_total{code="503"}', false],
  ])('%s selects: %s', (text, expected) => {
    expect(selects(parseSelector(text), sample)).toBe(expected)
  })

  test.each(['sum(increase(x[5m]))', 'x{code=5}', 'x{code="5"', 'x{code=~"("}', '{}', 'x{code=="5"}'])('rejects %s', (text) => {
    expect(() => parseSelector(text)).toThrow(SelectorError)
  })
})
