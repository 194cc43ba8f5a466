// Peer text on a real terminal (class 2 of issue 11), under tmux: a hook
// program that prints an OSC title change, a clear-screen and a bidi override
// then fails. `gray start` (the live listr2 progress) and `gray status` show
// its words with the escapes visible as text; the terminal's title is not
// changed and the screen is not cleared. The gateway is a loopback control
// plane that keeps the policy it is given.
import {execa} from 'execa'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'
import {hasTmux, shellQuote, tmux} from '../support/tmux.js'

describe.skipIf(!hasTmux())('escapes from a peer on a terminal', () => {
  let plane: PolicyPlane
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-tty-'))

  beforeAll(async () => {
    plane = await startPolicyPlane()
    const {url} = plane
    writeFileSync(path.join(dir, 'hook.mjs'), `process.stdout.write('BEFORE-\\x1b]2;PWNED\\x07\\x1b[2J\\u202Etxt.exe-AFTER\\n'); process.exit(1)\n`)
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      JSON.stringify({
        service: 'shop',
        hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
        deploy: {command: [process.execPath, '-e', '0', '{version}']},
        hooks: {beforeDeploy: [process.execPath, path.join(dir, 'hook.mjs')]},
        gateway: {type: 'http', url},
        steps: [{weight: 100, bake: '1s'}],
      }),
    )
  })
  afterAll(async () => plane.close())

  it('gray start and gray status show the hook\'s escapes as text; the title and the screen stay', async () => {
    const command = `${shellQuote(process.execPath)} ${shellQuote(BIN)} start --version v2 --previous-version v1 --yes --detach; echo START-EXIT=$?; ${shellQuote(process.execPath)} ${shellQuote(BIN)} status; echo STATUS-EXIT=$?`
    const t = await tmux(`sh -c ${shellQuote(command)}`, {cwd: dir, width: 160, height: 50, env: {TERM: 'xterm-256color'}})
    try {
      const screen = await t.until('both commands to end', (s) => /STATUS-EXIT=\d/.test(s), 90_000)
      expect(screen).toMatch(/START-EXIT=4/)
      // the screen was not cleared after the hook spoke: start's end, printed with its words, is still there above status
      expect(screen.indexOf('⏸ paused: hook beforeDeploy'), screen).toBeGreaterThan(-1)
      expect(screen.indexOf('⏸ paused: hook beforeDeploy')).toBeLessThan(screen.indexOf('STATUS-EXIT'))
      expect(screen.match(/BEFORE-\\x1B/g)?.length ?? 0).toBeGreaterThanOrEqual(3)
      // the hook's words are there, with its escapes shown as text
      expect(screen).toMatch(/BEFORE-\\x1B\]2;PWNED\\x07\\x1B\[2J\\u202Etxt\.exe-AFTER/)
      const title = String((await execa('tmux', ['list-panes', '-a', '-F', '#{pane_title}'])).stdout)
      expect(title).not.toContain('PWNED')
    } finally {
      await t.kill()
    }
  })
})
