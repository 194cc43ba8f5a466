// Every file in test/fixtures/configs/bad is refused with the one-line message
// in its .expect sidecar; the CLI end-to-end tests reuse the same corpus.
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import {loadConfig} from '../../../src/core/config/load.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'

const BAD = path.resolve('test/fixtures/configs/bad')
const names = readdirSync(BAD)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => file.slice(0, -'.yaml'.length))
  .sort()

async function refusal(file: string): Promise<InvalidConfigError> {
  const error = await loadConfig(file, {}).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error, `${path.basename(file)} was accepted`).toBeInstanceOf(InvalidConfigError)
  return error as InvalidConfigError
}

describe('bad config corpus', () => {
  it('holds at least 24 configs, each with its expected message', () => {
    expect(names.length).toBeGreaterThanOrEqual(24)
    const sidecars = readdirSync(BAD).filter((file) => file.endsWith('.expect')).map((file) => file.slice(0, -'.expect'.length))
    expect(sidecars.sort()).toEqual(names)
  })

  it.each(names)('%s is refused with its message first', async (name) => {
    const expected = readFileSync(path.join(BAD, `${name}.expect`), 'utf8').trim()
    expect(expected).not.toContain('\n')
    const error = await refusal(path.join(BAD, `${name}.yaml`))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.exitCode).toBe(ExitCode.usage)
    expect(error.message).toContain(expected)
    expect(error.message).not.toContain('\n')
    expect(error.message).not.toMatch(/\bat .+:\d+:\d+\)/)
    expect(error.problems[0]).toBe(error.message)
    for (const line of error.problems) expect(line).toMatch(/^\S.*: .+, got .+$/)
  })
})
