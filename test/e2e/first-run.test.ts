// The first run of a service, with no --previous-version and no completed run to take
// it from: gates that compare against the stable version would read no data, so
// validate and plan warn and start refuses, naming the flag; without such gates they warn.
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

function project(baseline: boolean): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-first-run-'))
  let text = readFileSync('test/fixtures/configs/good/sandbox.yaml', 'utf8')
  if (baseline) text = text.replace('      max: 0.05\n', '      max: 0.05\n      baseline: { maxIncrease: 1.5 }\n')
  writeFileSync(path.join(dir, 'gray.yaml'), text)
  return dir
}

describe('a first run without --previous-version', () => {
  it('with a baseline gate: validate and plan warn, start refuses (exit 2) naming the flag and writes no run', async () => {
    const dir = project(true)
    const v = await run(['validate'], {cwd: dir})
    expect(v.exitCode, v.stderr).toBe(0)
    expect(v.stdout).toMatch(/warning: no previous version of demo is known .*the gate error-rate measures the stable version.*gray start refuses this: pass --previous-version V/)
    const p = await run(['plan', '--version', 'v2'], {cwd: dir})
    expect(p.exitCode, p.stderr).toBe(0)
    expect(p.stdout).toMatch(/warning: no previous version of demo is known/)
    // naming the version takes the warning away
    expect((await run(['plan', '--version', 'v2', '--previous-version', 'v1'], {cwd: dir})).stdout).not.toContain('no previous version')
    const s = await run(['start', '--version', 'v2', '--yes'], {cwd: dir})
    expect(s.exitCode).toBe(2)
    expect(s.stderr).toMatch(/^gray: no previous version of demo is known \(no run has completed, and --previous-version was not given\)/)
    expect(s.stderr).toContain('pass --previous-version V')
    expect(existsSync(path.join(dir, '.gray', 'demo', 'runs'))).toBe(false)
  })

  it('without one: plan warns that a rollback could not revert the hosts', async () => {
    const dir = project(false)
    const p = await run(['plan', '--version', 'v2', '--json'], {cwd: dir})
    expect(p.exitCode, p.stderr).toBe(0)
    expect(JSON.parse(p.stdout).warnings).toContain('no previous version of demo is known (pass --previous-version V): a rollback could not revert the hosts that got the new version')
  })
})
