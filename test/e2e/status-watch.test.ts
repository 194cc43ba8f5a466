// `gray status --watch` in a real 80x30 terminal (tmux) against a live run:
// the board fits, is redrawn in place, respects NO_COLOR, and Ctrl-C exits 0.
// The screen is kept as test-artifacts/status-watch.txt.
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {BIN, gray} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {hasTmux, shellQuote, tmux, type Tmux} from '../support/tmux.js'

// bash, not sh: it goes on after a child that handled Ctrl-C itself, so the exit code shows
const watchCommand = `bash -c ${shellQuote(`${shellQuote(process.execPath)} ${shellQuote(BIN)} status --watch; echo "watch exited $?"`)}`
// an SGR sequence that sets a foreground colour
const SGR_COLOR = new RegExp(String.raw`\u001b\[[0-9;]*(3[0-7]|9[0-7])m`)

describe.skipIf(!hasTmux() && !process.env.CI)('gray status --watch', () => {
  let live: Live
  let driver: ReturnType<typeof gray>
  const sessions: Tmux[] = []

  beforeAll(async () => {
    live = await startLive({service: 'shop', steps: '[{weight: 1, bake: 1s}, {weight: 10, bake: 120s}, {weight: 100, bake: 1s}]'})
    driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir, timeoutMs: 300_000})
    await live.until('the bake of step 2', (events) => {
      const s = replay(events)
      return s.stepIndex === 1 && s.status === 'baking' && events.filter((e) => e.type === 'gate.measured' && e.data.step === 1).length >= 4
    })
  }, 120_000)

  afterAll(async () => {
    for (const s of sessions) await s.kill()
    driver?.kill('SIGKILL')
    await driver?.catch(() => undefined)
    await live?.stop()
  })

  it('draws the board in 80 columns with NO_COLOR, redraws it in place, and exits 0 on Ctrl-C', async () => {
    const t = await tmux(watchCommand, {cwd: live.dir, width: 80, height: 30, env: {NO_COLOR: '1'}})
    sessions.push(t)
    const first = await t.until('the board', (s) => s.includes('step 2/3') && s.includes('gates') && s.includes('driver'))
    // redrawn in place: the clock moves on, and there is still one board on the screen and none in the scrollback
    const later = await t.until('a later frame', (s) => clockOf(s) !== null && clockOf(s) !== clockOf(first) && s.includes('step 2/3'))
    const screen = await t.capture({escapes: true})
    mkdirSync('test-artifacts', {recursive: true})
    writeFileSync(path.join('test-artifacts', 'status-watch.txt'), `${later.trimEnd()}\n`)

    const lines = later.split('\n')
    expect(lines.filter((l) => l.startsWith('shop v1 → v2'))).toHaveLength(1)
    const title = lines.find((l) => l.startsWith('shop v1 → v2')) as string
    expect(title).toMatch(/^shop v1 → v2 {2}BAKING +\d\d:\d\d:\d\d · every 1s · Ctrl-C quits$/)
    expect([...title].length).toBeLessThanOrEqual(80)
    expect(lines[1]).toBe('─'.repeat(80))
    expect(later).toMatch(/^step 2\/3 \(10%\) {2}bake ends in \d+m?\d*s$/m)
    expect(later).toMatch(/^weight {2}intended 10% {2}served 10%$/m)
    expect(later).toMatch(/^steps {3}■ ▶ □ ?$/m)
    expect(later).toMatch(/^gates {18}verdict {7}value limit {6}trend$/m)
    // hosts by version: the gray host on v2, the stable ones still on v1
    expect(later).toMatch(/^ {2}v2 {11}1 host {6}gray-1$/m)
    expect(later).toMatch(/^ {2}v1 {11}2 hosts {5}stable-1, stable-2$/m)
    // the gate against its limit, with a trend
    expect(later).toMatch(/^ {2}errors {15}pass +\d[\d.e-]* ≤ 0\.05 +[▁▂▃▄▅▆▇█ ]+ \d+✓$/m)
    expect(later).toMatch(/^driver {2}\S+@\S+ pid \d+ alive$/m)
    expect(later).toMatch(/^events$/m)
    expect(later).toMatch(/^ {2}\d\d:\d\d:\d\d step 2 started: 10%$/m)
    // passing measurements are summed up in the gates section, not repeated as events
    expect(later).not.toMatch(/gate errors: pass/)
    expect(screen).not.toMatch(SGR_COLOR)
    const history = await t.capture()
    expect(history.split('\n').filter((l) => l.startsWith('shop v1 → v2'))).toHaveLength(1)

    await t.keys('C-c')
    const after = await t.until('the watch to end', (s) => s.includes('watch exited'))
    expect(after).toContain('watch exited 0')
    // the last frame stays on screen
    expect(after).toContain('step 2/3')
  })

  it('colours the board when NO_COLOR is not set', async () => {
    const t = await tmux(watchCommand, {cwd: live.dir, width: 80, height: 30, env: {TERM: 'xterm-256color'}})
    sessions.push(t)
    await t.until('the board', (s) => s.includes('step 2/3') && s.includes('gates'))
    const screen = await t.capture({escapes: true})
    expect(screen).toMatch(SGR_COLOR)
    await t.keys('C-c')
    expect(await t.until('the watch to end', (s) => s.includes('watch exited'))).toContain('watch exited 0')
  })
})

function clockOf(screen: string): string | null {
  return /(\d\d:\d\d:\d\d) · every/.exec(screen)?.[1] ?? null
}
