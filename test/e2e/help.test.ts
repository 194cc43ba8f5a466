// Every gray command's --help lists the exit codes and at least one example, and
// shell completion (oclif's autocomplete plugin) completes commands and flags.
import {execa} from 'execa'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

// gray's own commands, from the manifest `npm run build` writes (plugin commands such as help are not gray's)
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, {examples?: unknown[]; pluginName?: string}>}
const commands = Object.keys(manifest.commands).sort()

const EXIT_CODES = [
  /^ {2}0 {2}success/m,
  /^ {2}1 {2}unexpected failure/m,
  /^ {2}2 {2}usage or config error/m,
  /^ {2}3 {2}the run was rolled back/m,
  /^ {2}4 {2}the run is paused or waiting/m,
  /^ {2}5 {2}refused: another process holds/m,
]

describe('gray <command> --help', () => {
  it('covers the commands the SPEC and the on-call issue name', () => {
    for (const c of ['init', 'validate', 'plan', 'start', 'promote', 'rollback', 'pause', 'resume', 'status', 'history', 'demo', 'report', 'sandbox']) {
      expect(commands).toContain(c)
    }
  })

  it.each(commands)('gray %s --help: exit 0, the exit codes and examples', async (id) => {
    const r = await run([id, '--help'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('EXIT CODES')
    for (const code of EXIT_CODES) expect(r.stdout).toMatch(code)
    const examples = r.stdout.split(/^EXAMPLES$/m)[1] ?? ''
    // topics are typed with a space: state:export is `gray state export`
    expect(examples, `gray ${id} --help has no EXAMPLES`).toMatch(new RegExp(`\\$ gray ${id.replace(/:/g, ' ')}\\b`))
    expect(manifest.commands[id]?.examples?.length ?? 0).toBeGreaterThan(0)
  })
})

describe('shell completion', () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'gray-complete-'))

  async function complete(words: string[]): Promise<string[]> {
    const script = await run(['autocomplete', 'script', 'bash'], {env: {XDG_CACHE_HOME: cache}})
    expect(script.exitCode, script.stderr).toBe(0)
    const bash = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _gray_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
    const r = await execa('bash', ['-c', bash], {reject: false})
    expect(r.exitCode, String(r.stderr)).toBe(0)
    return String(r.stdout).split('\n').filter(Boolean).sort()
  }

  it('`gray autocomplete bash` prints the setup instructions', async () => {
    const r = await run(['autocomplete', 'bash'], {env: {XDG_CACHE_HOME: cache}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain('gray autocomplete script bash')
  })

  it('bash completes command names and their flags', async () => {
    expect([...new Set(await complete(['gray', 'st']))]).toEqual(['start', 'state', 'status'])
    expect(await complete(['gray', 'state', ''])).toEqual(['export', 'import', 'migrate'])
    expect(await complete(['gray', 'status', '--w'])).toEqual(['--wait', '--watch'])
    expect(await complete(['gray', 'init', '--t'])).toEqual(['--template'])
  })
})
