// `gray plan` says how each pause step waits: at once when it has no bake, after its bake when it has one.
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

describe('gray plan and pause steps', () => {
  it('shows a pause step without a bake waiting at once, and one with a bake baking first', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-plan-'))
    const base = readFileSync('test/fixtures/configs/good/sandbox.yaml', 'utf8')
    const steps = 'steps:\n  - { weight: 10, bake: 20s }\n  - { weight: 50, pause: true }\n  - { weight: 70, bake: 2m, pause: true }\n  - { weight: 100, bake: 10s }\n'
    writeFileSync(path.join(dir, 'gray.yaml'), base.replace(/^steps:\n(?: {2}- .*\n)+/m, steps))
    const r = await run(['plan', '--version', 'v2', '--previous-version', 'v1'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/step 1: 10% to gray, bake 20s$/m)
    expect(r.stdout).toMatch(/step 2: 50% to gray, wait for `gray promote` as soon as the weight is confirmed \(no bake\)$/m)
    expect(r.stdout).toMatch(/step 3: 70% to gray, bake 2m, then wait for `gray promote`$/m)
    const json = JSON.parse((await run(['plan', '--version', 'v2', '--previous-version', 'v1', '--json'], {cwd: dir})).stdout)
    expect(json.steps.map((s: {bakeMs: number; pause: boolean}) => [s.bakeMs, s.pause])).toEqual([[20_000, false], [0, true], [120_000, true], [10_000, false]])
  })
})
