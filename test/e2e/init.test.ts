// `gray init`: each template written as a user gets it validates as written;
// without a terminal the flags are required; an existing file is never clobbered
// without --force; on a terminal it asks.
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, run} from '../support/cli.js'
import {jsonProblems} from '../support/results.js'
import {hasTmux, shellQuote, tmux} from '../support/tmux.js'

const fresh = () => mkdtempSync(path.join(tmpdir(), 'gray-init-'))
// the only ${VAR}s the templates use outside comments
const ENV = {APISIX_ADMIN_KEY: 'edd1c9f034335f136f87ad84b625c8f1', SHENYU_PASSWORD: 'shenyu-secret-123', BFE_TOKEN: 'bfe-token-Kq27Xw9'}

describe('gray init', () => {
  it.each(['nginx-prometheus', 'haproxy-prometheus', 'apisix-prometheus', 'bfe-prometheus', 'bfe-api-prometheus', 'shenyu-prometheus', 'sandbox'])('--template %s writes a gray.yaml that `gray validate` accepts', async (template) => {
    const dir = fresh()
    const r = await run(['init', '--template', template, '--service', 'checkout', '--json'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(jsonProblems('init', r.stdout, r.exitCode)).toEqual([])
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({file: path.join(dir, 'gray.yaml'), template, service: 'checkout', overwritten: false})
    const text = readFileSync(path.join(dir, 'gray.yaml'), 'utf8')
    const first = text.split('\n')[0] as string
    expect(first).toBe(`# yaml-language-server: $schema=${doc.schema}`)
    // the $schema comment points at this package's schema/gray.schema.json
    expect(readFileSync(path.resolve(dir, doc.schema), 'utf8')).toBe(readFileSync('schema/gray.schema.json', 'utf8'))
    expect(text).toMatch(/^service: checkout$/m)
    expect(text).not.toContain('{{')
    expect(text.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThan(10)
    const valid = await run(['validate'], {cwd: dir, env: ENV})
    expect(valid.exitCode, valid.stderr).toBe(0)
    expect(valid.stdout).toContain(`service checkout, ${template.split('-')[0]} gateway`)
  })

  it('without a terminal, a missing --template or --service is exit 2 naming the flag', async () => {
    const dir = fresh()
    const noTemplate = await run(['init', '--service', 'checkout'], {cwd: dir})
    expect(noTemplate.exitCode).toBe(2)
    expect(noTemplate.stderr).toMatch(/^gray: .*--template/)
    const noService = await run(['init', '--template', 'sandbox', '--json'], {cwd: dir})
    expect(noService.exitCode).toBe(2)
    expect(JSON.parse(noService.stdout).error.message).toContain('--service')
    expect(existsSync(path.join(dir, 'gray.yaml'))).toBe(false)
  })

  it('refuses to overwrite a file (exit 2, unchanged) unless --force', async () => {
    const dir = fresh()
    writeFileSync(path.join(dir, 'gray.yaml'), 'service: mine\n')
    const refused = await run(['init', '--template', 'sandbox', '--service', 'shop'], {cwd: dir})
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toContain('--force')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toBe('service: mine\n')
    const forced = await run(['init', '--template', 'sandbox', '--service', 'shop', '--force', '--json'], {cwd: dir})
    expect(forced.exitCode, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout).overwritten).toBe(true)
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: shop$/m)
  })

  it('refuses a service name that could not name a lock or a journal', async () => {
    const r = await run(['init', '--template', 'sandbox', '--service', '../etc'], {cwd: fresh()})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^gray: --service: must be a service name/)
  })

  it.skipIf(!hasTmux())('on a terminal it asks for the template and the service name', async () => {
    const dir = path.join(fresh(), 'payments-api')
    const {mkdirSync} = await import('node:fs')
    mkdirSync(dir)
    const t = await tmux(`${shellQuote(process.execPath)} ${shellQuote(BIN)} init`, {cwd: dir, env: {NO_COLOR: '1'}})
    try {
      await t.until('the template question', (s) => s.includes('Which gateway'))
      await t.keys('Down', 'Down', 'Down', 'Down', 'Down', 'Down', 'Enter') // sandbox, after nginx, haproxy, apisix, bfe, bfe-api and shenyu
      // the default name comes from the directory
      await t.until('the service question', (s) => s.includes('Service name') && s.includes('payments-api'))
      await t.keys('Enter')
      await t.until('the file to be written', (s) => s.includes('wrote gray.yaml'))
    } finally {
      await t.kill()
    }
    const text = readFileSync(path.join(dir, 'gray.yaml'), 'utf8')
    expect(text).toMatch(/^service: payments-api$/m)
    expect(text).toContain('type: sandbox')
  })
})
