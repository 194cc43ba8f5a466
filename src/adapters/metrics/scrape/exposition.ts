// A strict parser for the Prometheus text exposition format (version 0.0.4).
// https://prometheus.io/docs/instrumenting/exposition_formats/

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Samples of one scrape by series key (name plus sorted labels). */
export type Exposition = Map<string, Sample>

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`)
    this.name = 'ExpositionError'
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const TIMESTAMP = /^-?\d+$/

export function parseExposition(text: string): Exposition {
  const samples: Exposition = new Map()
  const lines = text.split('\n')
  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const trimmed = line.trim()
    if (trimmed === '') continue
    if (trimmed.startsWith('#')) {
      checkComment(trimmed, lineNo)
      continue
    }
    const sample = parseSample(trimmed, lineNo)
    const key = seriesKey(sample.name, sample.labels)
    if (samples.has(key)) throw new ExpositionError(lineNo, `series ${key} appears twice`)
    samples.set(key, sample)
  }
  return samples
}

function checkComment(line: string, lineNo: number): void {
  const tokens = line.slice(1).trim().split(/[ \t]+/)
  const [keyword, name, type] = tokens
  if (keyword !== 'HELP' && keyword !== 'TYPE') return
  if (!name || !METRIC_NAME.test(name) || METRIC_NAME.exec(name)?.[0] !== name) {
    throw new ExpositionError(lineNo, `# ${keyword} needs a metric name`)
  }
  if (keyword === 'TYPE' && (tokens.length !== 3 || !type || !TYPES.has(type))) {
    throw new ExpositionError(lineNo, `# TYPE ${name} must be one of ${[...TYPES].join(', ')}`)
  }
}

function parseSample(line: string, lineNo: number): Sample {
  const fail = (problem: string): never => {
    throw new ExpositionError(lineNo, problem)
  }
  const name = METRIC_NAME.exec(line)?.[0] ?? fail('a sample must start with a metric name')
  let rest = line.slice(name.length)
  let labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest, fail)
    labels = parsed.labels
    rest = rest.slice(parsed.length)
  }
  if (!/^[ \t]/.test(rest)) fail(`expected a space and a value after ${name}`)
  const tokens = rest.trim().split(/[ \t]+/)
  if (tokens.length > 2) fail('unexpected text after the value and timestamp')
  const [valueText, timestamp] = tokens as [string, string | undefined]
  const value = parseValue(valueText) ?? fail(`"${valueText}" is not a number`)
  if (timestamp !== undefined && !TIMESTAMP.test(timestamp)) fail(`"${timestamp}" is not a timestamp in milliseconds`)
  return {name, labels, value}
}

function parseLabels(text: string, fail: (problem: string) => never): {labels: Record<string, string>; length: number} {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>
  let i = 1
  const skipBlanks = () => {
    while (text[i] === ' ' || text[i] === '\t') i++
  }
  for (;;) {
    skipBlanks()
    if (text[i] === '}') return {labels, length: i + 1}
    const name = LABEL_NAME.exec(text.slice(i))?.[0] ?? fail('expected a label name or }')
    if (Object.hasOwn(labels, name)) fail(`label ${name} appears twice`)
    i += name.length
    skipBlanks()
    if (text[i] !== '=') fail(`expected = after label ${name}`)
    i++
    skipBlanks()
    if (text[i] !== '"') fail(`the value of label ${name} must be in double quotes`)
    i++
    let value = ''
    for (;;) {
      const c = text[i]
      if (c === undefined) fail(`the value of label ${name} is not closed`)
      if (c === '"') break
      if (c === '\\') {
        const escaped = text[i + 1]
        if (escaped === '\\' || escaped === '"') value += escaped
        else if (escaped === 'n') value += '\n'
        else fail(`invalid escape \\${escaped ?? ''} in label ${name}`)
        i += 2
        continue
      }
      value += c
      i++
    }
    i++
    labels[name] = value
    skipBlanks()
    if (text[i] === ',') i++
    else if (text[i] !== '}') fail(`expected , or } after label ${name}`)
  }
}

function parseValue(text: string): number | undefined {
  if (DECIMAL.test(text)) return Number(text)
  if (/^nan$/i.test(text)) return Number.NaN
  const inf = /^([+-]?)inf(?:inity)?$/i.exec(text)
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY
  return undefined
}

export function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((label) => `${label}=${JSON.stringify(labels[label])}`)
  return `${name}{${parts.join(',')}}`
}
