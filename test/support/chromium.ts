// Debian's headless Chromium, isolated: its own profile dir, no network services.
import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

export function chromiumPath(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8'}).trim() || null
    } catch {
      // not this one
    }
  }
  return null
}

function flags(): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${mkdtempSync(path.join(tmpdir(), 'gray-chromium-'))}`,
  ]
}

export async function screenshot(file: string, png: string, size = '1200,900'): Promise<void> {
  const chromium = chromiumPath() as string
  const r = await execa(chromium, [...flags(), `--screenshot=${png}`, `--window-size=${size}`, `file://${file}`], {reject: false, timeout: 90_000})
  if (r.exitCode !== 0) throw new Error(`chromium --screenshot failed (${r.exitCode}): ${String(r.stderr).slice(-500)}`)
}

export async function dumpDom(file: string): Promise<string> {
  const chromium = chromiumPath() as string
  const r = await execa(chromium, [...flags(), '--dump-dom', `file://${file}`], {reject: false, timeout: 90_000})
  if (r.exitCode !== 0) throw new Error(`chromium --dump-dom failed (${r.exitCode}): ${String(r.stderr).slice(-500)}`)
  return String(r.stdout)
}
