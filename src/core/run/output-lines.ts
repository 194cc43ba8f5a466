// The lines of a command's output worth a person's eye in one sentence: its error
// lines (else its last line), escaped for a terminal and with secrets masked.
import {shown} from '../redact.js'

const ERROR_LINE = /\b(error|errors|fail(ed|ure)?|fatal|denied|refused|not found|no such|cannot|can't|unable|invalid|timed? ?out|panic|exception)\b/i
const MAX_LINE = 160

/** control characters as \xNN, so peer output cannot move the cursor or recolour a terminal */
export function escapeControl(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** up to `count` lines from the end of `tail`: the error lines, else the last non-empty one */
export function errorLines(tail: readonly string[], count = 2): string[] {
  const lines = tail.map((l) => l.replace(/\s+$/, '')).filter((l) => l.trim() !== '' && !l.startsWith('# gray:'))
  const errors = lines.filter((l) => ERROR_LINE.test(l))
  const picked = errors.length > 0 ? errors.slice(-count) : lines.slice(-1)
  return picked.map((l) => {
    const line = escapeControl(shown(l.trim()))
    return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line
  })
}
