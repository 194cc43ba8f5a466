// PCRE patterns shared by the gateways that match with regular expressions
// (nginx maps, APISIX's ~~): literal text, and integer ranges as patterns, so
// a range matches exactly the whole numbers decide.ts accepts.

/** The text as a PCRE literal: every byte outside [A-Za-z0-9_] escaped, so no value can change the pattern. */
export function regexLiteral(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte)
    if (/[A-Za-z0-9_]/.test(char)) out += char
    else if (byte >= 0x21 && byte <= 0x7e) out += `\\${char}`
    else out += `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return out
}

/**
 * A pattern (without anchors) that matches the decimal text of exactly the
 * integers in [min, max] as decide.ts reads them: optional minus, leading zeros allowed.
 */
export function integerRangePattern(min: number, max: number): string {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
    throw new RangeError(`[${min}, ${max}] is not a range of whole numbers`)
  }
  const alternatives: string[] = []
  if (max >= 0) {
    alternatives.push(`0*(?:${naturalPatterns(Math.max(0, min), max).join('|')})`)
  }
  if (min <= 0) {
    // "-0" is zero, so it belongs to the range whenever zero does
    const low = max >= 0 ? 0 : -max
    alternatives.push(`-0*(?:${naturalPatterns(low, -min).join('|')})`)
  }
  return alternatives.length === 1 ? (alternatives[0] as string) : `(?:${alternatives.join('|')})`
}

/** Patterns for the numbers lo..hi (0 <= lo <= hi) written without leading zeros. */
function naturalPatterns(lo: number, hi: number): string[] {
  const patterns: string[] = []
  for (let digits = String(lo).length; digits <= String(hi).length; digits++) {
    const from = Math.max(lo, digits === 1 ? 0 : 10 ** (digits - 1))
    const to = Math.min(hi, 10 ** digits - 1)
    if (from <= to) patterns.push(...sameLengthPatterns(from, to))
  }
  return patterns
}

/** Covers from..to (same digit count) with blocks "prefix[a-b]\d{k}", greedily. */
function sameLengthPatterns(from: number, to: number): string[] {
  const patterns: string[] = []
  let start = from
  while (start <= to) {
    let size = 1
    let k = 0
    while (start % (size * 10) === 0 && start + size * 10 - 1 <= to && k + 1 < String(start).length) {
      size *= 10
      k++
    }
    const digit = Math.floor(start / size) % 10
    let count = 1
    while (digit + count <= 9 && start + (count + 1) * size - 1 <= to) count++
    const text = String(start)
    const prefix = text.slice(0, text.length - k - 1)
    const last = digit + count - 1
    const klass = count === 1 ? String(digit) : `[${digit}-${last}]`
    patterns.push(`${prefix}${klass}${k > 0 ? `\\d{${k}}` : ''}`)
    start += count * size
  }
  return patterns
}
