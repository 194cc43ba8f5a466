// A real terminal for tests: a detached tmux session of a chosen size running one
// command through `sh -c`, which writes the command's exit code to a file when it
// ends, so a test reads what a person saw (capture-pane) and the exit code.
// Self-contained on purpose (no imports from test/support).
import {execFile, execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {promisify} from 'node:util'

const run = promisify(execFile)

export function tmuxAvailable(): boolean {
  try {
    execFileSync('tmux', ['-V'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

export function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

export interface Terminal {
  /** the screen and its scrollback as text, trailing blank lines dropped */
  screen(): Promise<string>
  /** tmux send-keys: literal text with `literal`, else key names like Enter, Down, C-c */
  keys(...keys: string[]): Promise<void>
  type(text: string): Promise<void>
  /** polls the screen until `test` holds; a generous default budget for a loaded machine */
  waitFor(what: string, test: (screen: string) => boolean, timeoutMs?: number): Promise<string>
  /** the command's exit code once it has ended (polls until then) */
  exitCode(timeoutMs?: number): Promise<number>
  /** whether the command has ended */
  ended(): boolean
  kill(): Promise<void>
}

export interface TerminalOptions {
  cwd: string
  width?: number
  height?: number
  /** set for the command; CI is always unset so it sees a person's terminal */
  env?: Record<string, string>
}

/** Starts `argv` (run as one shell command line, each word quoted) in a new tmux session. */
export async function openTerminal(argv: string[], options: TerminalOptions): Promise<Terminal> {
  const name = `gray-tty-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-tty-'))
  const codeFile = path.join(dir, 'exit-code')
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${quote(v)}`).join(' ')
  // Ctrl-C signals the whole foreground group: the shell traps it (so it lives on to write the
  // code) while the command gets the default disposition back, as under an interactive shell
  const line = `trap : INT; env -u CI ${env} ${argv.map(quote).join(' ')}; echo $? > ${quote(codeFile)}`
  await run('tmux', ['new-session', '-d', '-s', name, '-x', String(options.width ?? 120), '-y', String(options.height ?? 40), '-c', options.cwd, 'sh', '-c', line])
  // keep the pane after the command ends, so its last screen can still be read
  await run('tmux', ['set-option', '-t', name, 'remain-on-exit', 'on']).catch(() => undefined)
  const t: Terminal = {
    async screen() {
      // with the scrollback: a short command's first lines may have scrolled off a fresh pane
      const {stdout} = await run('tmux', ['capture-pane', '-p', '-S', '-', '-t', name])
      return stdout.replace(/\s+$/, '')
    },
    async keys(...keys) {
      await run('tmux', ['send-keys', '-t', name, ...keys])
    },
    async type(text) {
      await run('tmux', ['send-keys', '-t', name, '-l', text])
    },
    async waitFor(what, test, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const screen = await t.screen().catch(() => '')
        if (test(screen)) return screen
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen shows:\n${screen}`)
        await delay(150)
      }
    },
    async exitCode(timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs
      while (!t.ended()) {
        if (Date.now() > end) throw new Error(`the command did not end; the screen shows:\n${await t.screen().catch(() => '')}`)
        await delay(150)
      }
      return Number(readFileSync(codeFile, 'utf8').trim())
    },
    ended() {
      return existsSync(codeFile) && readFileSync(codeFile, 'utf8').trim() !== ''
    },
    async kill() {
      await run('tmux', ['kill-session', '-t', name]).catch(() => undefined)
    },
  }
  return t
}
