// `gray agent` in a real terminal (tmux): its startup line says what it drives
// and where /metrics is, Ctrl-C stops it cleanly (exit 0, the agent leaves the
// state at once), and --help reads on a terminal. Local state: no database.
import {existsSync, readdirSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {freePort} from '../support/prometheus.js'
import {grayTty, ttySkipReason} from '../support/tmux.js'

describe.skipIf(ttySkipReason() !== null && !process.env.CI)('gray agent on a terminal', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gray-tty-agent-'))
    await writeFile(
      join(dir, 'gray.yaml'),
      'service: shop\nhosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}\ndeploy: {command: ["true"]}\ngateway: {type: sandbox}\nsteps: [{weight: 100, bake: 1s}]\n',
    )
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('says what it drives and where /metrics is, and Ctrl-C stops it with exit 0', async () => {
    const port = await freePort()
    const t = await grayTty(['agent', '--listen', `127.0.0.1:${port}`], {cwd: dir, env: {NO_COLOR: '1'}, width: 220})
    try {
      const screen = await t.until('the startup line', (s) => /drives shop/.test(s), 60_000)
      expect(screen).toMatch(/info +agent: gray agent \S+@\S+ \(pid \d+\) drives shop; lease TTL 5 s; \/healthz and \/metrics on http:\/\/127\.0\.0\.1:\d+/)
      expect(screen).toMatch(/info +shop: watching shop \(state: local at /)
      const health = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(health.status).toBe(200)
      // a live agent is known to the state: a CLI here would hand runs to it
      const agents = join(dir, '.gray', '.agents')
      expect(existsSync(agents) && readdirSync(agents).filter((n) => n.endsWith('.json'))).toHaveLength(1)
      await t.keys('C-c')
      expect(await t.exitCode(60_000)).toBe(0)
      const end = await t.capture({scrollback: true})
      expect(end).toMatch(/SIGINT: taking no new run/)
      expect(end).toMatch(/info +agent: stopped/)
      expect(readdirSync(agents).filter((n) => n.endsWith('.json'))).toEqual([])
    } finally {
      await t.kill()
    }
  }, 120_000)

  it('--help names the flags and the exit codes', async () => {
    const t = await grayTty(['agent', '--help'], {cwd: dir, env: {NO_COLOR: '1'}, scrollback: true, height: 80})
    try {
      expect(await t.exitCode(60_000)).toBe(0)
      const screen = await t.capture({scrollback: true})
      for (const flag of ['--lease-ttl', '--log', '--listen', '--config']) expect(screen).toContain(flag)
      expect(screen).toContain('EXIT CODES')
    } finally {
      await t.kill()
    }
  }, 120_000)
})
