// A person's terminal for one gray command: a tmux session of a given size runs
// `bin/run.js ARGS` (on dist/) through bash, which writes the exit code to a file
// when gray ends; the screen is read back with capture-pane. CI is unset in the
// session, so gray sees a terminal exactly as a person's.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {BIN} from './cli.js'
import {hasTmux, shellQuote, tmux, type Tmux} from './tmux.js'

export {hasTmux}

/** why a suite of terminal tests does not run here, or null when it does */
export function ttySkipReason(): string | null {
  return hasTmux() ? null : 'tmux is not installed (apt-get install tmux, or run .ci/deps.sh): the terminal tests cannot run'
}

export interface Tty extends Tmux {
  /** the exit code once gray ended; rejects with the screen when it did not within the budget */
  exitCode(timeoutMs?: number): Promise<number>
  /** the code if gray already ended, else null */
  ended(): number | null
}

export interface TtyOptions {
  cwd: string
  width?: number
  height?: number
  env?: Record<string, string>
}

/** Runs `gray ARGS` in a fresh terminal of `width`×`height` (120×40 unless told). */
export async function grayTty(args: string[], options: TtyOptions): Promise<Tty> {
  const codeFile = path.join(mkdtempSync(path.join(tmpdir(), 'gray-tty-')), 'exit-code')
  const gray = [process.execPath, BIN, ...args].map(shellQuote).join(' ')
  // bash, not sh: it carries on after a child that handled Ctrl-C itself, so the code is written
  const script = `${gray}; code=$?; echo $code > ${shellQuote(codeFile)}; echo "[gray exited $code]"`
  const t = await tmux(`bash -c ${shellQuote(script)}`, {cwd: options.cwd, width: options.width ?? 120, height: options.height ?? 40, env: {TERM: 'xterm-256color', ...options.env}})
  const ended = () => (existsSync(codeFile) && readFileSync(codeFile, 'utf8').trim() !== '' ? Number(readFileSync(codeFile, 'utf8').trim()) : null)
  return {
    ...t,
    ended,
    async exitCode(timeoutMs = 120_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const code = ended()
        if (code !== null) return code
        if (Date.now() > end) throw new Error(`gray ${args.join(' ')} did not end within ${timeoutMs / 1000}s; the screen shows:\n${await t.capture().catch(() => '')}`)
        await delay(200)
      }
    },
  }
}

/** Text that means a stack trace reached the screen. */
export const STACK_TRACE = /^\s+at .+[(:]\d+|file:\/\/\/|Error: .*\n\s+at /m

/** Keeps a screen as test-artifacts/NAME.txt, for a person to look at after the run. */
export function keepScreen(name: string, screen: string): void {
  mkdirSync('test-artifacts', {recursive: true})
  writeFileSync(path.join('test-artifacts', `${name}.txt`), `${screen.trimEnd()}\n`)
}
