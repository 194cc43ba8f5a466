// The one terminal harness of the tests: a detached tmux session of a given size
// running one command, read back with capture-pane (what a person would see).
// tmux() runs any command line; grayTty() runs `bin/run.js ARGS` (on dist/)
// through bash, which writes gray's exit code to a file when gray ends. CI is
// unset in every session, so the command sees a terminal exactly as a person's.
import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {BIN} from './cli.js'

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/** why a suite of terminal tests does not run here, or null when it does */
export function ttySkipReason(): string | null {
  return hasTmux() ? null : 'tmux is not installed (apt-get install tmux, or run .ci/deps.sh): the terminal tests cannot run'
}

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

export interface CaptureOptions {
  /** keep the escapes (capture-pane -e) */
  escapes?: boolean
  /** the scrollback too, not only the visible screen (capture-pane -S -) */
  scrollback?: boolean
}

export interface Tmux {
  /** the screen as text; the session's `scrollback` option decides the default of `scrollback` */
  capture(options?: CaptureOptions): Promise<string>
  /** tmux send-keys: key names like Enter, Down, C-c, or text */
  keys(...keys: string[]): Promise<void>
  /** tmux send-keys -l: literal text */
  type(text: string): Promise<void>
  /** polls the screen (capture()) until `test` holds */
  until(what: string, test: (screen: string) => boolean, timeoutMs?: number): Promise<string>
  kill(): Promise<void>
}

export interface TmuxOptions {
  cwd: string
  width?: number
  height?: number
  env?: Record<string, string>
  /** capture() and until() read the scrollback too (a short command's first lines may have scrolled off) */
  scrollback?: boolean
}

export async function tmux(command: string, options: TmuxOptions): Promise<Tmux> {
  const name = `gray-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')
  // `env -u CI` so the command sees a person's terminal even when the tests run under CI
  await execa('tmux', ['new-session', '-d', '-s', name, '-x', String(options.width ?? 80), '-y', String(options.height ?? 30), '-c', options.cwd, `env -u CI ${env} ${command}`])
  // keep the pane after the command ends, so its last screen can still be read
  await execa('tmux', ['set-option', '-t', name, 'remain-on-exit', 'on'])
  const t: Tmux = {
    async capture(o = {}) {
      const scrollback = o.scrollback ?? options.scrollback ?? false
      const r = await execa('tmux', ['capture-pane', '-p', ...(o.escapes ? ['-e'] : []), ...(scrollback ? ['-S', '-'] : []), '-t', name])
      return String(r.stdout)
    },
    async keys(...keys) {
      await execa('tmux', ['send-keys', '-t', name, ...keys])
    },
    async type(text) {
      await execa('tmux', ['send-keys', '-t', name, '-l', text])
    },
    async until(what, test, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const screen = await t.capture().catch(() => '')
        if (test(screen)) return screen
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen shows:\n${screen}`)
        await delay(200)
      }
    },
    async kill() {
      await execa('tmux', ['kill-session', '-t', name], {reject: false})
    },
  }
  return t
}

export interface Tty extends Tmux {
  /** the exit code once gray ended; rejects with the screen when it did not within the budget */
  exitCode(timeoutMs?: number): Promise<number>
  /** the code if gray already ended, else null */
  ended(): number | null
}

/** Runs `gray ARGS` in a fresh terminal of `width`×`height` (120×40 unless told). */
export async function grayTty(args: string[], options: TmuxOptions): Promise<Tty> {
  const codeFile = path.join(mkdtempSync(path.join(tmpdir(), 'gray-tty-')), 'exit-code')
  const gray = [process.execPath, BIN, ...args].map(shellQuote).join(' ')
  // bash, not sh: it carries on after a child that handled Ctrl-C itself, so the code is written
  const script = `${gray}; code=$?; echo $code > ${shellQuote(codeFile)}; echo "[gray exited $code]"`
  const t = await tmux(`bash -c ${shellQuote(script)}`, {...options, width: options.width ?? 120, height: options.height ?? 40, env: {TERM: 'xterm-256color', ...options.env}})
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
