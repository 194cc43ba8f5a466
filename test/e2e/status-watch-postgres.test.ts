// `gray status --watch` on a run whose state is in PostgreSQL, in a real
// terminal (tmux), from a directory with no gray.yaml (`--service` and
// GRAY_DATABASE_URL): the board redraws when the backend tells of a new event
// (LISTEN/NOTIFY) and otherwise reads the run only at its slow safety poll.
// The watcher's own log (DEBUG=gray:watch, to a file) says why it read each time.
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {PostgresBackend} from '../../src/state/postgres/backend.js'
import {BIN, gray} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {hasTmux, shellQuote, tmux, type Tmux} from '../support/tmux.js'

describe.skipIf(skipWithoutPostgres || (!hasTmux() && !process.env.CI))('gray status --watch on PostgreSQL', () => {
  let server: PostgresServer
  let plane: PolicyPlane
  let root: string
  let url: string
  let driver: ReturnType<typeof gray> | undefined
  let session: Tmux | undefined

  beforeAll(async () => {
    ;[server, plane] = await Promise.all([startPostgres(), startPolicyPlane()])
    root = await mkdtemp(path.join(tmpdir(), 'gray-watch-pg-'))
    // the URL's user is masked in all gray writes: one that is no word of the board
    await server.query('CREATE ROLE watch_user LOGIN SUPERUSER')
    url = (await server.createDatabase()).replace('postgres://gray@', 'postgres://watch_user@')
  }, 180_000)
  afterAll(async () => {
    await session?.kill()
    driver?.kill('SIGKILL')
    await driver?.catch(() => undefined)
    await Promise.all([server?.destroy(), plane?.close()])
    if (root) await rm(root, {recursive: true, force: true})
  }, 180_000)

  it('redraws on a new event through LISTEN/NOTIFY, and between events reads the run only at the safety poll', async () => {
    const ci = path.join(root, 'ci')
    const laptop = path.join(root, 'laptop')
    await Promise.all([mkdir(ci), mkdir(laptop)])
    await writeFile(
      path.join(ci, 'gray.yaml'),
      [
        'service: shop',
        'state: {backend: postgres, url: "${GRAY_DATABASE_URL}"}',
        'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}',
        'deploy: {command: ["true"]}',
        `gateway: {type: http, url: "${plane.url}"}`,
        'traffic: {sticky: "cookie:uid"}',
        'steps: [{weight: 10, bake: 10m}, {weight: 50, bake: 10m}, {weight: 100, bake: 1s}]',
        '',
      ].join('\n'),
    )
    const env = {GRAY_DATABASE_URL: url, GRAY_LOCK_STALE_MS: '6000'}
    driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: ci, env, timeoutMs: 600_000})
    const backend = await PostgresBackend.open(url)
    try {
      // the first step bakes: from now on nothing is written until a person acts
      for (const end = Date.now() + 120_000; ; await delay(200)) {
        const id = await backend.currentRun('shop')
        if (id && (await backend.readEvents('shop', id)).some((e) => e.type === 'gateway.publish.confirmed' && e.data.purpose === 'step')) break
        if (Date.now() > end) throw new Error('the first step never baked')
      }
      const log = path.join(root, 'watch.log')
      const command = `bash -c ${shellQuote(`${shellQuote(process.execPath)} ${shellQuote(BIN)} status --watch --service shop 2>${shellQuote(log)}; echo "watch exited $?"`)}`
      session = await tmux(command, {cwd: laptop, width: 80, height: 30, env: {...env, NO_COLOR: '1', DEBUG: 'gray:watch'}})
      await session.until('the board', (s) => /step 1\/3 \(10%\)/.test(s) && s.includes('driver'), 60_000)
      const reads = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('reading the run'))

      // a quiet stretch: the clock redraws every second, the run is read only at the safety poll
      const quietFrom = (await reads()).length
      const quietStart = Date.now()
      await delay(11_000)
      const quiet = (await reads()).slice(quietFrom)
      const quietSeconds = (Date.now() - quietStart) / 1000
      expect(quiet.filter((l) => /\((poll|event)\)/.test(l)), quiet.join('\n')).toEqual([])
      expect(quiet.length).toBeLessThanOrEqual(Math.ceil(quietSeconds / 5) + 1)

      // a promote: its events are told by NOTIFY, and the board shows the next step
      const before = (await reads()).length
      await backend.postRequest('shop', {kind: 'promote', actor: {user: 'oncall', host: 'laptop', pid: 1, ci: false}})
      const screen = await session.until('the next step', (s) => /step 2\/3 \(50%\)/.test(s), 60_000)
      expect(screen).toMatch(/^shop v1 → v2 {2}(RUNNING|BAKING)/m)
      const after = (await reads()).slice(before)
      expect(after.some((l) => l.includes('(event)')), after.join('\n')).toBe(true)

      await session.keys('C-c')
      expect(await session.until('the watch to end', (s) => s.includes('watch exited'))).toContain('watch exited 0')
    } finally {
      await backend.close()
    }
  }, 300_000)
})
