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
import {BIN} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {grayTty, hasTmux, type Tty} from '../support/tmux.js'

const terminals: Tty[] = []
const lives: Live[] = []

const WAIT_MS = 60_000
// `gray ARGS` in 120×40, read with the scrollback: a short command's first lines may have scrolled off a fresh pane
async function open(args: string[], cwd: string): Promise<Tty> {
  const t = await grayTty(args, {cwd, width: 120, height: 40, env: {NO_COLOR: '1'}, scrollback: true})
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

describe.skipIf(!hasTmux())('gray init on a terminal', {timeout: 120_000}, () => {
  it('asks for the template and the service, answered by keystrokes (exit 0)', async () => {
    const dir = fresh()
    const t = await open(['init'], dir)
    await t.until('the template question', (s) => s.includes('Which gateway'), WAIT_MS)
    await t.keys(...Array.from({length: INIT_TEMPLATES.indexOf('sandbox')}, () => 'Down'), 'Enter') // sandbox, wherever it stands in the list
    await t.until('the service question with the directory as default', (s) => s.includes('Service name') && s.includes('payments-api'), WAIT_MS)
    await t.keys('Enter')
    expect(await t.exitCode()).toBe(0)
    expect(await t.capture()).toContain('wrote gray.yaml: the sandbox template for payments-api')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: payments-api$/m)
  })

  it('Ctrl-C at a prompt cancels: exit 2, nothing written, no bug report', async () => {
    for (const at of ['template', 'service'] as const) {
      const dir = fresh()
      const t = await open(['init', ...(at === 'service' ? ['--template', 'sandbox'] : [])], dir)
      await t.until(`the ${at} question`, (s) => s.includes(at === 'template' ? 'Which gateway' : 'Service name'), WAIT_MS)
      await t.keys('C-c')
      expect(await t.exitCode()).toBe(2)
      const screen = await t.capture()
      expect(screen).toContain('gray: cancelled at the prompt; nothing was changed')
      expect(screen).not.toMatch(/looks like a bug|ExitPromptError|at .*\.js:\d+/)
      expect(existsSync(path.join(dir, 'gray.yaml'))).toBe(false)
    }
  })

  it('Ctrl-C at the overwrite question leaves the file as it was', async () => {
    const dir = fresh()
    writeFileSync(path.join(dir, 'gray.yaml'), 'service: mine\n')
    const t = await open(['init', '--template', 'sandbox', '--service', 'shop'], dir)
    await t.until('the overwrite question', (s) => s.includes('exists. Overwrite it?'), WAIT_MS)
    await t.keys('C-c')
    expect(await t.exitCode()).toBe(2)
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toBe('service: mine\n')
  })

  it('--yes asks no confirmation: writes a new file at once, and refuses to overwrite without --force (exit 2)', async () => {
    const dir = fresh()
    const t = await open(['init', '--yes', '--template', 'sandbox', '--service', 'shop'], dir)
    expect(await t.exitCode()).toBe(0)
    expect(await t.capture()).toContain('wrote gray.yaml: the sandbox template for shop')
    const again = await open(['init', '-y', '--template', 'sandbox', '--service', 'other'], dir)
    expect(await again.exitCode()).toBe(2)
    const screen = await again.capture()
    expect(screen).not.toContain('Overwrite it?')
    expect(screen).toContain('pass --force to overwrite it')
    expect(readFileSync(path.join(dir, 'gray.yaml'), 'utf8')).toMatch(/^service: shop$/m)
  })
})

describe.skipIf(!hasTmux())('gray status on a terminal, while a run bakes', {timeout: 240_000}, () => {
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
      const t = await open(['status', '--watch'], live.dir)
      const screen = await t.until('the first frame', (s) => s.includes('shop') && s.includes('v2') && /baking/i.test(s) && s.includes('errors'), WAIT_MS)
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
    const t = await open(['status', '--wait'], live.dir)
    await t.until('the line saying what it waits for', (s) => /waiting for shop v2 to end: baking at step 1\/2 \(10%\); driver pid \d+ alive/.test(s), WAIT_MS)
    driver.kill('SIGKILL')
    await driver
    expect(await t.exitCode(90_000)).toBe(4)
    // long lines wrap at 120 columns
    const screen = (await t.capture()).replaceAll('\n', '')
    expect(screen).toMatch(/gray: stopped waiting: shop's run of v2 is UNGUARDED \(baking\): its driver \(.+, pid \d+\) is gone/)
    expect(screen).toContain('`gray start --version v2` takes it over')
    expect(screen).not.toMatch(/at .*\.js:\d+/)
  })
})
