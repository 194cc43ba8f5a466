// What the terminal tests share: a live environment (sample services, sandbox
// gateway, traffic) whose deploy command can be slow or broken on demand, and
// readers of what the gateway serves and what the journal holds.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach} from 'vitest'

import {percentToGray} from '../../src/core/run/policy.js'
import {replay} from '../../src/core/run/state.js'
import {demoScript} from '../../src/demo/services.js'
import {startLive, type Live, type LiveOptions} from './live.js'
import {grayTty, type TmuxOptions, type Tty} from './tmux.js'

export interface TtyLive extends Live {
  /** lines `start ADDRESS VERSION` / `done ADDRESS VERSION CODE` from the deploy command */
  deploys(): string[]
  /** from now on every deploy (a revert too) takes slowMs */
  slowDown(): void
  /** what the gateway serves now, read from the sandbox: percent to gray (a plain policy: 100 once completed, else 0) */
  servedWeight(): Promise<number | null>
}

/**
 * The live environment, with a deploy command that fails at once for versions
 * named `broken…` and takes `slowMs` for versions named `slow…`, or for every
 * version once slowDown() was called (the demo's
 * deploy script does the rest).
 */
export async function startTtyLive(options: LiveOptions & {slowMs?: number} = {}): Promise<TtyLive> {
  const live = await startLive(options)
  const log = path.join(live.dir, 'deploys.log')
  writeFileSync(log, '')
  const wrapper = path.join(live.dir, 'deploy.mjs')
  const slowAll = path.join(live.dir, 'slow-all')
  writeFileSync(
    wrapper,
    `import {spawnSync} from 'node:child_process'
import {appendFileSync, existsSync} from 'node:fs'
const [address, version] = process.argv.slice(2)
if (version.startsWith('broken')) {
  console.error('pull failed: image shop:' + version + ' not found')
  process.exit(1)
}
appendFileSync(${JSON.stringify(log)}, 'start ' + address + ' ' + version + '\\n')
if (version.startsWith('slow') || existsSync(${JSON.stringify(slowAll)})) await new Promise((r) => setTimeout(r, ${options.slowMs ?? 5_000}))
const r = spawnSync(process.execPath, [${JSON.stringify(demoScript('deploy.mjs'))}, address, version], {stdio: 'inherit'})
appendFileSync(${JSON.stringify(log)}, 'done ' + address + ' ' + version + ' ' + r.status + '\\n')
process.exit(r.status ?? 1)
`,
  )
  const file = path.join(live.dir, 'gray.yaml')
  const yaml = readFileSync(file, 'utf8').replace(/^ {2}command: .*$/m, `  command: ["${process.execPath}", "${wrapper}", "{host.address}", "{version}"]`)
  writeFileSync(file, yaml)
  return {
    ...live,
    deploys: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    slowDown: () => writeFileSync(slowAll, ''),
    async servedWeight() {
      // straight from the sandbox's admin API, with a budget a loaded machine cannot exhaust
      const answer = await fetch(`${live.adminUrl}/v1/policy/${encodeURIComponent(live.service)}`, {signal: AbortSignal.timeout(30_000)})
      if (answer.status === 404) return null
      const doc = (await answer.json()) as {mode: 'split' | 'plain'; weightBasisPoints: number}
      return percentToGray({mode: doc.mode, weightBp: doc.weightBasisPoints}, replay(await live.journal()).status === 'completed')
    },
  }
}

export const START = ['start', '--version', 'v2', '--previous-version', 'v1', '--yes']
/** a bake long enough that only a person (or a gate) ends it */
export const LONG_BAKE = '[{weight: 1, bake: 1s}, {weight: 10, bake: 300s}, {weight: 100, bake: 1s}]'

export interface TtyLiveSession {
  /** starts the live environment of this test (stopped after it) */
  start(options?: LiveOptions & {slowMs?: number}): Promise<TtyLive>
  /** `gray ARGS` in a terminal in the live environment's directory (killed after the test) */
  open(args: string[], options?: Omit<TmuxOptions, 'cwd'>): Promise<Tty>
  /** terminals opened some other way, killed after the test too */
  keep(...ttys: Tty[]): void
}

/** For a file of terminal tests: each test starts one live environment; its terminals and it end after the test. */
export function ttyLiveSession(): TtyLiveSession {
  let live: TtyLive | undefined
  const ttys: Tty[] = []
  afterEach(async () => {
    for (const t of ttys.splice(0)) await t.kill()
    await live?.stop()
    live = undefined
  })
  return {
    async start(options = {}) {
      live = await startTtyLive(options)
      return live
    },
    async open(args, options = {}) {
      if (!live) throw new Error('start the live environment before opening a terminal in it')
      const t = await grayTty(args, {...options, cwd: live.dir})
      ttys.push(t)
      return t
    },
    keep(...more) {
      ttys.push(...more)
    },
  }
}
