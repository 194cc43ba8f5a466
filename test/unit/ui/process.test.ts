// The front door every way into gray shares (src/ui/process.ts): the process
// setup, and the one-line error with its hint and --json document.
import {afterEach, describe, expect, it, vi} from 'vitest'

import {InvalidConfigError} from '../../../src/core/config/problems.js'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import {clearRegisteredSecrets, registerSecrets} from '../../../src/core/redact.js'
import {colourFromEnvironment, errorDocument, errorReport, setUpOutput, writeError} from '../../../src/ui/process.js'

afterEach(() => {
  clearRegisteredSecrets()
  vi.unstubAllEnvs()
  vi.restoreAllMocks()
})

function stderrOf(fn: () => void): string {
  let out = ''
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    out += String(chunk)
    return true
  })
  fn()
  return out
}

describe('the front door', () => {
  it('NO_COLOR turns colour off unless FORCE_COLOR says otherwise', () => {
    vi.stubEnv('NO_COLOR', '1')
    vi.stubEnv('FORCE_COLOR', undefined)
    colourFromEnvironment()
    expect(process.env.FORCE_COLOR).toBe('0')
    vi.stubEnv('FORCE_COLOR', '2')
    colourFromEnvironment()
    expect(process.env.FORCE_COLOR).toBe('2')
  })

  it('--insecure is set for every HTTP client; without it nothing changes', () => {
    vi.stubEnv('GRAY_INSECURE_TLS', undefined)
    setUpOutput({insecure: false})
    expect(process.env.GRAY_INSECURE_TLS).toBeUndefined()
    setUpOutput({insecure: true})
    expect(process.env.GRAY_INSECURE_TLS).toBe('1')
  })

  it('says a gray error in one line, its hint below, secrets masked and controls escaped', () => {
    registerSecrets(['hunter2-front-door'])
    const report = errorReport(new ConfigError('gray.yaml: bad\n  token hunter2-front-door \x1b]52;c;x\x07', 'fix it'), ExitCode.usage)
    expect(report.message).toBe('gray.yaml: bad token *** \\x1B]52;c;x\\x07')
    expect(errorDocument(report)).toEqual({error: {message: report.message, hint: 'fix it', exitCode: 2}})
    expect(stderrOf(() => writeError(report))).toBe(`gray: ${report.message}\n  fix it\n`)
  })

  it('lists every problem of an invalid config when asked to', () => {
    const invalid = new InvalidConfigError(['steps[0].weight: must be 0..100, got 200', 'gateway: must be a mapping'])
    const report = errorReport(invalid, ExitCode.usage, invalid)
    expect(errorDocument(report).error.problems).toEqual(invalid.problems)
    expect(stderrOf(() => writeError(report))).toBe('gray: 2 problems in the config:\n  - steps[0].weight: must be 0..100, got 200\n  - gateway: must be a mapping\n')
  })

  it('calls an unexpected error a bug, and shows its stack only with DEBUG=gray', () => {
    vi.stubEnv('DEBUG', undefined)
    const report = errorReport(new TypeError('x is undefined'), ExitCode.failure)
    expect(stderrOf(() => writeError(report))).toBe('gray: x is undefined\n  (this looks like a bug in gray; rerun with DEBUG=gray* to see where)\n')
    vi.stubEnv('DEBUG', 'gray*')
    expect(stderrOf(() => writeError(report))).toMatch(/^gray: x is undefined\nTypeError: x is undefined\n\s+at /)
  })
})
