// Drives a real terminal: a detached tmux session of a given size running one
// command, read back with capture-pane (what a person would see).
import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {setTimeout as delay} from 'node:timers/promises'

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

export interface Tmux {
  capture(options?: {escapes?: boolean}): Promise<string>
  keys(...keys: string[]): Promise<void>
  /** polls the screen until `test` holds */
  until(what: string, test: (screen: string) => boolean, timeoutMs?: number): Promise<string>
  kill(): Promise<void>
}

export async function tmux(command: string, options: {cwd: string; width?: number; height?: number; env?: Record<string, string>}): Promise<Tmux> {
  const name = `gray-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')
  // `env -u CI` so the command sees a person's terminal even when the tests run under CI
  await execa('tmux', ['new-session', '-d', '-s', name, '-x', String(options.width ?? 80), '-y', String(options.height ?? 30), '-c', options.cwd, `env -u CI ${env} ${command}`])
  await execa('tmux', ['set-option', '-t', name, 'remain-on-exit', 'on'])
  const t: Tmux = {
    async capture(o = {}) {
      const r = await execa('tmux', ['capture-pane', '-p', ...(o.escapes ? ['-e'] : []), '-t', name])
      return String(r.stdout)
    },
    async keys(...keys) {
      await execa('tmux', ['send-keys', '-t', name, ...keys])
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

export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}
