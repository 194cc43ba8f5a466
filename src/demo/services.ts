// Starts the demo's sample services (templates/demo/service.mjs) as real child
// processes on loopback ports, so `gray demo` deploys and measures real hosts.
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {execa, type ResultPromise} from 'execa'

import type {Host} from '../core/config/model.js'

export interface DemoServicesOptions {
  stable: number
  gray: number
  /** the version every service starts on */
  version: string
  /** versions that answer 500 to about 30% of requests */
  failVersions?: string[]
  service?: string
}

export interface DemoServices {
  stable: Host[]
  gray: Host[]
  /** stops every service; safe to call more than once */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 10_000
const KILL_AFTER_MS = 2000

/** The package root: the nearest folder above this module holding templates/demo (works from src/ and dist/). */
export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'templates', 'demo', 'service.mjs'))) return join(dir, 'templates')
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find templates/demo next to gray; the installation looks incomplete')
    dir = parent
  }
}

export function demoScript(name: 'service.mjs' | 'deploy.mjs'): string {
  return join(templatesDir(), 'demo', name)
}

type Child = ResultPromise<{stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false; cleanup: true}>

export async function startDemoServices(options: DemoServicesOptions): Promise<DemoServices> {
  const script = demoScript('service.mjs')
  const children: Child[] = []
  const stop = once(() => Promise.all(children.map((child) => terminate(child))).then(() => undefined))
  const start = async (name: string): Promise<Host> => {
    const child: Child = execa(
      process.execPath,
      [
        script,
        '--port', '0',
        '--version', options.version,
        '--service', options.service ?? 'demo',
        '--name', name,
        '--fail-versions', (options.failVersions ?? []).join(','),
        '--exit-with-stdin',
      ],
      // stdin stays open: if gray dies, even by SIGKILL, it closes and the service exits
      {stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, cleanup: true},
    )
    children.push(child)
    child.stderr.resume()
    const port = await readyPort(child, name)
    return {name, address: `127.0.0.1:${port}`}
  }

  try {
    const stable = await Promise.all(range(options.stable).map((i) => start(`stable-${i}`)))
    const gray = await Promise.all(range(options.gray).map((i) => start(`gray-${i}`)))
    return {stable, gray, stop}
  } catch (error) {
    await stop()
    throw error
  }
}

function range(count: number): number[] {
  return Array.from({length: count}, (_, i) => i + 1)
}

/** Reads the service's {"ready":true,"port":P} line. */
function readyPort(child: Child, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({input: child.stdout})
    const timer = setTimeout(() => fail(`did not start within ${READY_TIMEOUT_MS / 1000}s`), READY_TIMEOUT_MS)
    const fail = (why: string) => {
      clearTimeout(timer)
      lines.close()
      reject(new Error(`demo service ${name} ${why}`))
    }
    lines.on('line', (line) => {
      const ready = parseReady(line)
      if (ready === undefined) return
      clearTimeout(timer)
      // keep reading so a chatty service never blocks on a full pipe
      lines.removeAllListeners('line')
      resolve(ready)
    })
    void child.then((result) => {
      fail(result.failed ? `exited before it was ready (exit code ${result.exitCode ?? result.signal})` : 'exited')
    })
  })
}

function parseReady(line: string): number | undefined {
  try {
    const message = JSON.parse(line) as {ready?: unknown; port?: unknown}
    return message.ready === true && typeof message.port === 'number' ? message.port : undefined
  } catch {
    return undefined
  }
}

async function terminate(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
  await child
  clearTimeout(timer)
}

function once<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined
  return () => (result ??= run())
}
