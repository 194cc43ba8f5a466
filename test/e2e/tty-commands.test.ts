// Commands that prompt or draw, in a real terminal (tmux, 120×40): init's prompts
// answered and abandoned by keystrokes, init --yes, status --watch's first frame,
// and status --wait saying what it waits for and noticing a dead driver.
import {execa} from 'execa'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {INIT_TEMPLATES} from '../../src/services/init.js'
import {openTerminal, tmuxAvailable, type Terminal} from '../helpers/tmux.js'
import {BIN} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

const gray = (...args: string[]) => [process.execPath, BIN, ...args]
const terminals: Terminal[] = []
const lives: Live[] = []

async function open(argv: string[], cwd: string): Promise<Terminal> {
  const t = await openTerminal(argv, {cwd, width: 120, height: 40, env: {NO_COLOR: '1'}})
  terminals.push(t)
  return t
}

afterEach(async () => {
  for (const t of terminals.splice(0)) await t.kill()
  for (const live of lives.splice(0)) await live.stop()
})

const fresh = (name = 'payments-api') => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'gray-tty-')), name)
  mkdirSync(dir)
  return dir
}

describe.skipIf(!tmuxAvailable())('gray init on a terminal', {timeout: 120_000}, () => {
  it('asks for the template and the service, answered by keystrokes (exit 0)', async () => {
    const dir = fresh()
    const t = await open(gray('init'), dir)
    await t.waitFor('the template question', (s) => s.includes('Which gateway'))
    await t.keys(...Array.from({length: INIT_TEMPLATES.indexOf('sandbox')}, () => 'Down'), 'Enter') // sandbox, wherever it stands in the list
    await t.waitFor('the service question with the directory as default', (s) => s.includes('Service name') && s.includes('payments-api'))
    await t.keys('Enter')
    expect(await t.exitCode()).toBe(0)
    expect(await t.screen()).toContain('wrote gray.yaml: the sandbox template for payments-api')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: payments-api$/m)
  })

  it('Ctrl-C at a prompt cancels: exit 2, nothing written, no bug report', async () => {
    for (const at of ['template', 'service'] as const) {
      const dir = fresh()
      const t = await open(gray('init', ...(at === 'service' ? ['--template', 'sandbox'] : [])), dir)
      await t.waitFor(`the ${at} question`, (s) => s.includes(at === 'template' ? 'Which gateway' : 'Service name'))
      await t.keys('C-c')
      expect(await t.exitCode()).toBe(2)
      const screen = await t.screen()
      expect(screen).toContain('gray: cancelled at the prompt; nothing was changed')
      expect(screen).not.toMatch(/looks like a bug|ExitPromptError|at .*\.js:\d+/)
      expect(existsSync(path.join(dir, 'gray.yaml'))).toBe(false)
    }
  })

  it('Ctrl-C at the overwrite question leaves the file as it was', async () => {
    const dir = fresh()
    writeFileSync(path.join(dir, 'gray.yaml'), 'service: mine\n')
    const t = await open(gray('init', '--template', 'sandbox', '--service', 'shop'), dir)
    await t.waitFor('the overwrite question', (s) => s.includes('exists. Overwrite it?'))
    await t.keys('C-c')
    expect(await t.exitCode()).toBe(2)
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toBe('service: mine\n')
  })

  it('--yes asks no confirmation: writes a new file at once, and refuses to overwrite without --force (exit 2)', async () => {
    const dir = fresh()
    const t = await open(gray('init', '--yes', '--template', 'sandbox', '--service', 'shop'), dir)
    expect(await t.exitCode()).toBe(0)
    expect(await t.screen()).toContain('wrote gray.yaml: the sandbox template for shop')
    const again = await open(gray('init', '-y', '--template', 'sandbox', '--service', 'other'), dir)
    expect(await again.exitCode()).toBe(2)
    const screen = await again.screen()
    expect(screen).not.toContain('Overwrite it?')
    expect(screen).toContain('pass --force to overwrite it')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: shop$/m)
  })
})

describe.skipIf(!tmuxAvailable())('gray status on a terminal, while a run bakes', {timeout: 240_000}, () => {
  async function baking(): Promise<{live: Live; driver: ReturnType<typeof execa>}> {
    const live = await startLive({service: 'shop', steps: '[{weight: 10, bake: 10m}, {weight: 100, bake: 1s}]'})
    lives.push(live)
    const driver = execa(process.execPath, [BIN, 'start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir, env: {CI: '1'}, reject: false, stdin: 'ignore'})
    await live.until('the bake of step 1', (events) => replay(events).status === 'baking', 90_000)
    return {live, driver}
  }

  it('--watch draws its first frame (the run, its step and gate) and Ctrl-C ends it with exit 0', async () => {
    const {live, driver} = await baking()
    try {
      const t = await open(gray('status', '--watch'), live.dir)
      const screen = await t.waitFor('the first frame', (s) => s.includes('shop') && s.includes('v2') && /baking/i.test(s) && s.includes('errors'))
      expect(screen).not.toMatch(/at .*\.js:\d+/)
      await t.keys('C-c')
      expect(await t.exitCode()).toBe(0)
    } finally {
      driver.kill('SIGTERM')
      await driver
    }
  })

  it('--wait shows what it waits for, and stops (exit 4) saying the run is unguarded once its driver is killed', async () => {
    const {live, driver} = await baking()
    const t = await open(gray('status', '--wait'), live.dir)
    await t.waitFor('the line saying what it waits for', (s) => /waiting for shop v2 to end: baking at step 1\/2 \(10%\); driver pid \d+ alive/.test(s))
    driver.kill('SIGKILL')
    await driver
    expect(await t.exitCode(90_000)).toBe(4)
    // long lines wrap at 120 columns
    const screen = (await t.screen()).replaceAll('\n', '')
    expect(screen).toMatch(/gray: stopped waiting: shop's run of v2 is UNGUARDED \(baking\): its driver \(.+, pid \d+\) is gone/)
    expect(screen).toContain('`gray start --version v2` takes it over')
    expect(screen).not.toMatch(/at .*\.js:\d+/)
  })
})
