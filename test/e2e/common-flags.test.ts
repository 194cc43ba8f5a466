// SPEC's common flags (-c/--config, --json, -y/--yes) are accepted by every gray command,
// and --yes changes nothing where nothing asks for confirmation.
import {copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

interface ManifestFlag {
  char?: string
  type: string
}
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, {flags: Record<string, ManifestFlag>}>}
const commands = Object.keys(manifest.commands).sort()

const fresh = () => mkdtempSync(path.join(tmpdir(), 'gray-flags-'))

describe('common flags on every command', () => {
  it.each(commands)('gray %s declares -c/--config, --json and -y/--yes', (id) => {
    const flags = manifest.commands[id]!.flags
    expect(flags.config).toMatchObject({char: 'c', type: 'option'})
    expect(flags.json).toMatchObject({type: 'boolean'})
    expect(flags.yes).toMatchObject({char: 'y', type: 'boolean'})
  })

  // demo runs a whole rollout whatever its flags: the manifest check above covers it
  it.each(commands.filter((c) => c !== 'demo'))('gray %s -y is parsed, not refused as a nonexistent flag', async (id) => {
    // each stops early, after its flags are parsed: a config that does not exist, or a bad address
    const dir = fresh()
    const missing = path.join(dir, 'missing.yaml')
    const args: Record<string, string[]> = {
      init: ['--template', 'sandbox', '--service', 'shop', '-c', path.join(dir, 'out.yaml')],
      sandbox: ['--listen', 'nope'],
      cohort: ['-c', missing, 'header:X-Uid=1'],
      plan: ['-c', missing, '--version', 'v2'],
      start: ['-c', missing, '--version', 'v2'],
      'state:import': ['-c', missing, path.join(dir, 'history.ndjson')],
    }
    const r = await run([id, '-y', ...(args[id] ?? ['-c', missing])], {cwd: dir})
    expect(r.stderr).not.toMatch(/Nonexistent flag/)
    if (id === 'init') expect(r.exitCode, r.stderr).toBe(0)
    else if (id !== 'sandbox') {
      // a usage or config error after parsing: the missing config, or (commands not listed above) a required flag
      expect(r.exitCode, r.stderr).toBe(2)
      if (!args[id] || args[id]!.includes(missing)) expect(r.stderr).toMatch(/missing\.yaml|Missing required flag/)
    }
  })

  // commands that confirm nothing: the same output and exit code with and without --yes
  it.each([
    ['validate', []],
    ['plan', ['--version', 'v2', '--previous-version', 'v1']],
    ['status', []],
    ['history', []],
  ] as const)('gray %s --yes changes nothing', async (id, extra) => {
    const dir = fresh()
    copyFileSync('test/fixtures/configs/good/sandbox.yaml', path.join(dir, 'gray.yaml'))
    const plain = await run([id, ...extra, '--json'], {cwd: dir})
    const yes = await run([id, ...extra, '--json', '--yes'], {cwd: dir})
    expect(plain.exitCode, plain.stderr).toBe(0)
    expect(yes.exitCode).toBe(plain.exitCode)
    expect(yes.stdout).toBe(plain.stdout)
  })

  it('gray init --yes writes the file as without it, and never overwrites one without --force', async () => {
    const dir = fresh()
    const r = await run(['init', '--yes', '--template', 'sandbox', '--service', 'shop', '--json'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({template: 'sandbox', service: 'shop', overwritten: false})
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: shop$/m)
    writeFileSync(path.join(dir, 'gray.yaml'), 'service: mine\n')
    const again = await run(['init', '-y', '--template', 'sandbox', '--service', 'shop'], {cwd: dir})
    expect(again.exitCode).toBe(2)
    expect(again.stderr).toContain('--force')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toBe('service: mine\n')
  })

  it.each(['promote', 'rollback', 'pause', 'resume'])('gray %s --yes skips only the confirmation: with no run it says so (exit 2, nothing written)', async (id) => {
    const dir = fresh()
    copyFileSync('test/fixtures/configs/good/sandbox.yaml', path.join(dir, 'gray.yaml'))
    const yes = await run([id, '--yes'], {cwd: dir})
    expect(yes.exitCode).toBe(2)
    expect(yes.stderr).toContain(`demo has no run to ${id}`)
    expect(existsSync(path.join(dir, '.gray'))).toBe(false)
  })
})
