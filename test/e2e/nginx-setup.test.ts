// An nginx gateway that is not set up yet: `validate --connect` says what is missing
// (no "reachable" for a directory that does not exist), and `start` refuses before it
// writes anything. The running-nginx cases are in test/integration/nginx/bootstrap.test.ts.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

function project(include: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-nginx-setup-'))
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    JSON.stringify({
      service: 'shop',
      hosts: {stable: ['127.0.0.1:9101'], gray: ['127.0.0.1:9201']},
      deploy: {command: ['true']},
      gateway: {type: 'nginx', include: path.isAbsolute(include) ? include : path.join(dir, include), variable: 'gray_shop_upstream'},
      traffic: {sticky: 'cookie:uid'},
    }),
  )
  return dir
}

const nothingWritten = (dir: string) => !existsSync(path.join(dir, '.gray', 'shop', 'runs')) || readdirSync(path.join(dir, '.gray', 'shop', 'runs')).length === 0

describe('an nginx gateway that is not set up', () => {
  it("the include's directory does not exist: validate --connect fails it (exit 1); start refuses (exit 2), writing nothing", async () => {
    const dir = project('nginx/gray/shop.conf')
    const v = await run(['validate', '--connect'], {cwd: dir})
    expect(v.exitCode, v.stderr).toBe(1)
    expect(v.stdout).toMatch(/FAIL nginx gateway: gateway\.include: the directory .*nginx\/gray does not exist, so nginx cannot be loading .*shop\.conf; create it; then see "Setup notes" in docs\/gateways\.md/)
    expect(v.stdout).not.toContain('reachable')
    // --connect reaches the hosts too: nothing listens on these
    expect(v.stdout).toMatch(/FAIL host 127\.0\.0\.1:9101: cannot connect \(ECONNREFUSED\)/)
    expect(v.stdout).toMatch(/FAIL host 127\.0\.0\.1:9201: cannot connect/)
    const s = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    expect(s.exitCode).toBe(2)
    expect(s.stderr).toMatch(/^gray: gateway\.include: the directory .* does not exist/)
    expect(s.stderr).not.toMatch(/ENOENT|at .*\.js/)
    expect(nothingWritten(dir)).toBe(true)
  })

  it('the include itself does not exist: both say nginx is not serving it and how to write it', async () => {
    const dir = project('gray/shop.conf')
    mkdirSync(path.join(dir, 'gray'))
    const v = await run(['validate', '--connect', '--json'], {cwd: dir})
    expect(v.exitCode).toBe(1)
    const gateway = JSON.parse(v.stdout).connect[0]
    expect(gateway).toMatchObject({what: 'nginx gateway', ok: false})
    expect(gateway.detail).toMatch(/shop\.conf does not exist, so nginx is not serving gray's policy for shop; see "Setup notes"/)
    const s = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    expect(s.exitCode).toBe(2)
    expect(s.stderr).toContain('does not exist, so nginx is not serving')
    expect(nothingWritten(dir)).toBe(true)
    expect(existsSync(path.join(dir, 'gray', 'shop.conf'))).toBe(false)
  })

  it('the include exists but nothing answers for it (nginx not running): start refuses (exit 1), writing nothing', async () => {
    const dir = project('gray/shop.conf')
    mkdirSync(path.join(dir, 'gray'))
    writeFileSync(path.join(dir, 'gray', 'shop.conf'), '# plain policy\n')
    const v = await run(['validate', '--connect'], {cwd: dir})
    expect(v.exitCode).toBe(1)
    expect(v.stdout).toMatch(/FAIL nginx gateway: nginx is not serving gray's policy for shop: nothing answers on .*; check that nginx runs/)
    const s = await run(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    expect(s.exitCode).toBe(1)
    expect(s.stderr).toMatch(/^gray: nginx is not serving gray's policy for shop/)
    expect(s.stderr).not.toContain('this looks like a bug')
    expect(nothingWritten(dir)).toBe(true)
  })
})
