// Turns zod issues into `<path>: <expected>, got <found>` problems. Schema
// messages say only what was expected; what was found is read here from the
// input, so an env-filled value is described, never echoed.
import type {z} from 'zod'
import {describeFound, problem, valueAt, type ConfigPath, type EnvFilled} from './problems.js'
import {KNOWN_KEYS} from './values.js'

type Issue = z.core.$ZodIssue

/** Words for the issues the schema does not word itself; passed to safeParse. */
export function expectedFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${KIND_WORDS[issue.expected] ?? issue.expected}`
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`
    case 'too_small':
      return issue.origin === 'array' ? `must list at least ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`
    case 'too_big':
      return issue.origin === 'array' ? `must list at most ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`
    case 'invalid_key':
      return 'must be a valid key'
    default:
      return undefined
  }
}

const KIND_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
}

export function issuesToProblems(issues: readonly Issue[], input: unknown, filled: EnvFilled): string[] {
  const unknownKeys: string[] = []
  const others: string[] = []
  const visit = (issue: Issue, base: ConfigPath) => {
    const path = [...base, ...issue.path]
    const found = () => describeFound(valueAt(input, path), filled.varsAt(path))
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) unknownKeys.push(unknownKey([...path, key], issue.message))
        return
      case 'invalid_union': {
        if (issue.discriminator !== undefined && 'options' in issue) {
          others.push(problem(path, `must be one of ${(issue.options ?? []).map(String).join(', ')}`, found()))
          return
        }
        // report the branch whose shape the user wrote (a string, or a mapping), not every branch
        const branch = issue.errors.find((branchIssues) => !branchIssues.some(isTypeMismatch))
        if (branch) for (const inner of branch) visit(inner, path)
        else others.push(problem(path, issue.message, found()))
        return
      }
      case 'invalid_type':
        others.push(valueAt(input, path) === undefined ? problem(path, 'must be set', 'nothing') : problem(path, issue.message, found()))
        return
      case 'invalid_key': {
        const inner = issue.issues[0]?.message ?? issue.message
        others.push(problem(path, inner, describeFound(String(path.at(-1)))))
        return
      }
      default: {
        const params = (issue as {params?: {found?: string}}).params
        others.push(problem(path, issue.message, params?.found ?? found()))
      }
    }
  }
  for (const issue of issues) visit(issue, [])
  // an unknown key is usually the cause of the "must be set" that follows it
  return [...unknownKeys, ...others]
}

/** the value is not even of the branch's kind (a whole number that is 1.5 still is) */
function isTypeMismatch(issue: Issue): boolean {
  return issue.code === 'invalid_type' && issue.path.length === 0 && issue.expected !== 'int'
}

function unknownKey(path: ConfigPath, message: string): string {
  const key = String(path.at(-1))
  const known = message.startsWith(KNOWN_KEYS) ? message.slice(KNOWN_KEYS.length).split(',') : []
  const near = known.find((candidate) => distance(candidate.toLowerCase(), key.toLowerCase()) <= Math.max(1, Math.floor(candidate.length / 4)))
  const expected = near ? `must be a known key (did you mean "${near}"?)` : `must be a known key: ${known.join(', ')}`
  return problem(path, expected, 'an unknown key')
}

/** Levenshtein distance, for "did you mean" */
function distance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
    }
    previous = current
  }
  return previous[b.length] as number
}
