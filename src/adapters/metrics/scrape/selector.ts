// Series selectors as PromQL writes them: name{label="v", code=~"5..", x!="y", y!~"re"}.
import type {Sample} from './exposition.js'

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  label: string
  op: MatchOp
  value: string
  regex?: RegExp
}

export interface Selector {
  text: string
  matchers: Matcher[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const ESCAPES: Record<string, string> = {'\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r'}

export class SelectorError extends Error {}

export function parseSelector(text: string): Selector {
  const fail = (problem: string): never => {
    throw new SelectorError(problem)
  }
  const source = text.trim()
  const matchers: Matcher[] = []
  let i = 0
  const name = METRIC_NAME.exec(source)?.[0]
  if (name) {
    matchers.push({label: '__name__', op: '=', value: name})
    i = name.length
  }
  const skipBlanks = () => {
    while (/\s/.test(source[i] ?? '')) i++
  }
  skipBlanks()
  if (source[i] === '{') {
    i++
    for (;;) {
      skipBlanks()
      if (source[i] === '}') {
        i++
        break
      }
      const label = LABEL_NAME.exec(source.slice(i))?.[0] ?? fail(`expected a label name at position ${i + 1}`)
      i += label.length
      skipBlanks()
      const op = (['=~', '!~', '!=', '='] as const).find((candidate) => source.startsWith(candidate, i)) ?? fail(`expected =, !=, =~ or !~ after ${label}`)
      i += op.length
      skipBlanks()
      const quote = source[i]
      if (quote !== '"' && quote !== "'") fail(`the value for ${label} must be quoted`)
      i++
      let value = ''
      for (;;) {
        const c = source[i] ?? fail(`the value for ${label} is not closed`)
        i++
        if (c === quote) break
        if (c === '\\') {
          const escaped = source[i] ?? ''
          value += ESCAPES[escaped] ?? fail(`invalid escape \\${escaped} in the value for ${label}`)
          i++
          continue
        }
        value += c
      }
      matchers.push(matcherOf(label, op, value, fail))
      skipBlanks()
      if (source[i] === ',') i++
      else if (source[i] !== '}') fail(`expected , or } after the value for ${label}`)
    }
  }
  skipBlanks()
  if (i !== source.length) fail(`unexpected "${source.slice(i, i + 20)}"`)
  if (matchers.length === 0) fail('it names no metric')
  return {text: source, matchers}
}

function matcherOf(label: string, op: MatchOp, value: string, fail: (problem: string) => never): Matcher {
  if (op === '=' || op === '!=') return {label, op, value}
  try {
    // anchored, as Prometheus anchors label regexes
    return {label, op, value, regex: new RegExp(`^(?:${value})$`, 's')}
  } catch {
    return fail(`/${value}/ is not a valid regular expression`)
  }
}

export function selects(selector: Selector, sample: Sample): boolean {
  return selector.matchers.every((m) => {
    const actual = m.label === '__name__' ? sample.name : (Object.hasOwn(sample.labels, m.label) ? sample.labels[m.label] : undefined) ?? ''
    switch (m.op) {
      case '=':
        return actual === m.value
      case '!=':
        return actual !== m.value
      case '=~':
        return (m.regex as RegExp).test(actual)
      case '!~':
        return !(m.regex as RegExp).test(actual)
    }
  })
}
