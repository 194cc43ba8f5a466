// `gray validate --connect` in a real terminal (tmux, 120×40): the checks show as
// a task list on stderr while they run — the gateway, the hosts, the gate
// queries — each ending ✔ or ✖ with its line, then the summary lines as without
// a terminal. A host nothing listens on fails its task and the command (exit 1);
// all passing is exit 0. Off a terminal nothing of the list shows (the run of the
// same config through a pipe prints the summary only). Real loopback peers: an
// http control plane, listening hosts, a command metric source.
import {execa} from 'execa'
import {createServer} from 'node:http'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {BIN, run} from '../support/cli.js'
import {keepScreen, shellQuote, STACK_TRACE, tmux, ttySkipReason, type Tmux} from '../support/tmux.js'
import {loopback} from '../support/loopback.js'

const terminals: Tmux[] = []
const peers = loopback()
const listen = peers.listen
const deadPort = peers.deadPort

const dir = mkdtempSync(path.join(tmpdir(), 'gray-tty-validate-'))
let dead = ''

// one idle session for the whole file keeps the tmux server up between the tests (a server
// that is exiting after the last session refuses the next one: "server exited unexpectedly")
const keeper = `gray-validate-keeper-${process.pid}`

beforeAll(async () => {
  if (ttySkipReason() === null) await execa('tmux', ['new-session', '-d', '-s', keeper, 'sleep 900'])
  const gateway = await listen(createServer((_req, res) => res.writeHead(404, {'content-type': 'application/json'}).end('{"error":"no policy"}')))
  const hosts = [await listen(createServer((_q, r) => r.end('ok'))), await listen(createServer((_q, r) => r.end('ok')))]
  dead = await deadPort()
  const config = (stable: string[]) =>
    JSON.stringify({
      service: 'shop',
      state: {dir: '.gray'},
      hosts: {gray: [hosts[0]], stable},
      deploy: {command: ['true']},
      gateway: {type: 'http', url: `http://${gateway}/policies/{service}`},
      steps: [{weight: 50, bake: '1s'}, {weight: 100, bake: '1s'}],
      metrics: {cmd: {type: 'command', command: [process.execPath, '-e', 'console.log(0)']}},
      gates: {checks: ['errors', 'latency', 'saturation', 'crashes'].map((name) => ({name, source: 'cmd', query: name, max: 1}))},
    })
  writeFileSync(path.join(dir, 'gray.yaml'), config([hosts[1]!, dead]))
  writeFileSync(path.join(dir, 'good.yaml'), config([hosts[1]!]))
  // a gate query that answers only after a minute: the list is still running when Ctrl-C comes
  const slow = JSON.parse(config([hosts[1]!])) as {metrics: {cmd: {command: string[]}}}
  slow.metrics.cmd.command = ['sh', '-c', 'sleep 60']
  writeFileSync(path.join(dir, 'slow.yaml'), JSON.stringify(slow))
})

afterEach(async () => {
  for (const t of terminals.splice(0)) await t.kill()
})

afterAll(async () => {
  await execa('tmux', ['kill-session', '-t', keeper], {reject: false})
  await peers.close()
})

// tmux 3.3 scrolls a dead pane by one line (its "Pane is dead" notice), losing the first line
// of the screen — the list's first task. So the shell stays after gray ends (the terminal as a
// person has it), and the screen is read from there; otherwise as test/support/tty.ts runs gray.
// (`trap : INT` keeps that shell through a Ctrl-C; gray, its child, gets the default again)
async function open(args: string[]): Promise<Tmux> {
  const gray = [process.execPath, BIN, 'validate', '--connect', ...args].map(shellQuote).join(' ')
  const t = await tmux(`bash -c ${shellQuote(`trap : INT; ${gray}; echo "[gray exited $?]"; exec sleep 600`)}`, {cwd: dir, width: 120, height: 40, env: {TERM: 'xterm-256color'}})
  terminals.push(t)
  return t
}

async function validate(...args: string[]): Promise<{code: number; screen: string}> {
  const t = await open(args)
  const screen = await t.until('gray to end', (s) => /\[gray exited \d+\]/.test(s), 120_000)
  return {code: Number(/\[gray exited (\d+)\]/.exec(screen)![1]), screen}
}

describe.skipIf(ttySkipReason() !== null)('gray validate --connect on a terminal', {timeout: 180_000}, () => {
  it('a host that does not listen: its task ends ✖ with why, the others ✔, the FAIL line after; exit 1', async () => {
    const {code, screen} = await validate()
    keepScreen('validate-connect-failing-host', screen)
    expect(code, screen).toBe(1)
    expect(screen).toMatch(/✔ Reach the http gateway — reachable; no gray policy yet/)
    expect(screen).toContain(`✖ Connect to 3 hosts — 1 of 3 failed: host ${dead}: cannot connect (ECONNREFUSED)`)
    expect(screen).toMatch(/✔ Run 4 gate queries — all answer/)
    // the summary lines as without a terminal, after the list
    expect(screen).toContain(`FAIL host ${dead}: cannot connect (ECONNREFUSED)`)
    expect(screen.indexOf('✔ Run 4 gate queries')).toBeLessThan(screen.indexOf('gray.yaml: valid'))
    expect(screen.match(/ {2}ok {3}host /g)).toHaveLength(2)
    expect(screen.match(/ {2}ok {3}gate /g)).toHaveLength(4)
    expect(screen).not.toMatch(STACK_TRACE)
    expect(screen).not.toMatch(/looks like a bug/)
  })

  it('everything answers: three ✔ tasks, the ok lines after; exit 0', async () => {
    const {code, screen} = await validate('-c', 'good.yaml')
    keepScreen('validate-connect-all-pass', screen)
    expect(code, screen).toBe(0)
    expect(screen).toMatch(/✔ Reach the http gateway — reachable; no gray policy yet/)
    expect(screen).toMatch(/✔ Connect to 2 hosts — all accept connections/)
    expect(screen).toMatch(/✔ Run 4 gate queries — all answer/)
    expect(screen).not.toContain('✖')
    expect(screen).not.toContain('FAIL')
    expect(screen.match(/ {2}ok {3}/g)).toHaveLength(7)
  })

  it('Ctrl-C while the list runs ends gray as everywhere outside a run (by the signal, 130), cursor shown, no trace', async () => {
    const t = await open(['-c', 'slow.yaml'])
    await t.until('the list with the gateway and hosts done, the gates running', (s) => s.includes('✔ Connect to 2 hosts') && /Run 4 gate queries/.test(s), 60_000)
    await t.keys('C-c')
    const screen = await t.until('gray to end', (s) => /\[gray exited \d+\]/.test(s), 60_000)
    expect(screen).toContain('[gray exited 130]')
    expect(screen).not.toMatch(STACK_TRACE)
    expect(screen).not.toMatch(/looks like a bug/)
    // listr2 hid the cursor while drawing; it is back (the one session of this process)
    const sessions = String((await execa('tmux', ['list-sessions', '-F', '#{session_name}'])).stdout).split('\n').filter((n) => n.startsWith(`gray-test-${process.pid}-`))
    expect(sessions).toHaveLength(1)
    expect(String((await execa('tmux', ['display', '-p', '-t', sessions[0]!, '#{cursor_flag}'])).stdout).trim()).toBe('1')
  })

  it('a config that does not load shows no list: only its one-line error (exit 2)', async () => {
    writeFileSync(path.join(dir, 'broken.yaml'), 'service: shop\nsteps: nope\n')
    const {code, screen} = await validate('-c', 'broken.yaml')
    expect(code, screen).toBe(2)
    expect(screen).toMatch(/^gray: 4 problems in the config:$/m)
    expect(screen).not.toMatch(/[✔✖]|Reach the|Connect to/)
    expect(screen).not.toMatch(STACK_TRACE)
  })

  it('off a terminal (a pipe) no task list: the summary lines only, stderr quiet', async () => {
    const r = await run(['validate', '--connect'], {cwd: dir})
    expect(r.exitCode).toBe(1)
    expect(r.stdout).toContain(`FAIL host ${dead}: cannot connect (ECONNREFUSED)`)
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/[✔✖]|Reach the|Connect to \d/)
  })
})
