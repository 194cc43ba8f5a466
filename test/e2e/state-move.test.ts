// `gray state migrate | export | import` as users run them (bin/run.js on dist/):
// a service's history moved from the journal directory to a real PostgreSQL and
// back, import refusing to overwrite and changing nothing when run again.
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runStarted} from '../../src/core/run/begin.js'
import {LocalBackend} from '../../src/state/local.js'
import {newRunId} from '../../src/state/store.js'
import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {run} from '../support/cli.js'
import {testConfig} from '../support/fakes.js'

const YAML = 'service: shop\nhosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}\ndeploy: {command: ["true"]}\ngateway: {type: sandbox}\n'
const holder = {user: 'tester', host: 'test-host', pid: process.pid, ci: false, kind: 'cli' as const}

describe.skipIf(skipWithoutPostgres)('gray state: moving history between backends', () => {
  let server: PostgresServer
  let dir: string
  beforeAll(async () => {
    server = await startPostgres()
    dir = await mkdtemp(join(tmpdir(), 'gray-state-move-'))
  }, 180_000)
  afterAll(async () => {
    await server?.destroy()
    if (dir) await rm(dir, {recursive: true, force: true})
  }, 180_000)

  it('exports local runs, imports them into postgres once, and brings them back intact', async () => {
    const url = await server.createDatabase()
    const env = {GRAY_DATABASE_URL: url}
    const from = join(dir, 'from')
    await import('node:fs/promises').then((fs) => fs.mkdir(from, {recursive: true}))
    await writeFile(join(from, 'gray.yaml'), YAML)

    // two real-shaped runs in the journal directory
    const local = new LocalBackend(join(from, '.gray'))
    // a lease that a loaded machine's slow event loop cannot let go stale while the two runs are written
    const lease = await local.acquireLease('shop', holder, {ttlMs: 60_000})
    const config = testConfig({service: 'shop'})
    for (const [i, version] of ['v1', 'v2'].entries()) {
      const id = newRunId(Date.UTC(2026, 0, 1 + i))
      await local.createRun('shop', id, lease, {type: 'run.started', data: runStarted(config, id, version, i ? 'v1' : null) as unknown as Record<string, unknown>})
      await local.append('shop', id, lease, [{type: 'run.completed', data: {}}])
    }
    await lease.release()
    await local.close()
    const history = await run(['history', '--json'], {cwd: from})
    expect(history.exitCode).toBe(0)

    // schema first, from many processes at once
    const migrations = await Promise.all([1, 2, 3, 4].map(() => run(['state', 'migrate', '--json'], {cwd: dir, env})))
    expect(migrations.map((m) => m.exitCode)).toEqual([0, 0, 0, 0])
    expect(migrations.flatMap((m) => (JSON.parse(m.stdout) as {applied: number[]}).applied)).toEqual([1, 2])

    const exported = join(dir, 'shop.ndjson')
    const out = await run(['state', 'export', '--output', exported, '--json'], {cwd: from})
    expect(out.exitCode).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({service: 'shop', backend: 'local', runs: 2, events: 4})

    const into = await run(['state', 'import', exported, '--backend', 'postgres', '--json'], {cwd: dir, env})
    expect(into.exitCode).toBe(0)
    expect(JSON.parse(into.stdout)).toMatchObject({service: 'shop', backend: 'postgres', unchanged: []})
    expect((JSON.parse(into.stdout) as {imported: string[]}).imported).toHaveLength(2)
    expect(into.stdout).not.toContain(url)

    const again = await run(['state', 'import', exported, '--backend', 'postgres', '--json'], {cwd: dir, env})
    expect(again.exitCode).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({imported: []})

    // a file that would overwrite a run is refused whole: its new run is not written either
    const lines = (await readFile(exported, 'utf8')).trimEnd().split('\n')
    const tampered = [...lines]
    const event = JSON.parse(tampered[2] as string) as {run: string; event: {data: Record<string, unknown>}}
    event.event.data.version = 'v9'
    tampered[2] = JSON.stringify(event)
    const extraRun = newRunId(Date.UTC(2026, 5, 1))
    tampered.push(JSON.stringify({run: extraRun, events: 1}), JSON.stringify({run: extraRun, event: {...JSON.parse(lines[2] as string).event}}))
    await writeFile(join(dir, 'tampered.ndjson'), tampered.join('\n') + '\n')
    const refused = await run(['state', 'import', join(dir, 'tampered.ndjson'), '--backend', 'postgres'], {cwd: dir, env})
    expect(refused.exitCode).toBe(2)
    expect(refused.stderr).toMatch(/already exists here with other events.*nothing was overwritten/)
    const listed = await server.query<{n: string}>('SELECT count(*) AS n FROM gray_runs', [], new URL(url).pathname.slice(1))
    expect(Number(listed[0]?.n)).toBe(2)

    // and back into a fresh journal directory: `gray history` reads the same runs
    const back = join(dir, 'back')
    await import('node:fs/promises').then((fs) => fs.mkdir(back, {recursive: true}))
    await writeFile(join(back, 'gray.yaml'), YAML)
    const pgExport = await run(['state', 'export', '--backend', 'postgres', '--service', 'shop', '--output', join(dir, 'pg.ndjson')], {cwd: back, env})
    expect(pgExport.exitCode).toBe(0)
    const home = await run(['state', 'import', join(dir, 'pg.ndjson'), '--json'], {cwd: back})
    expect(home.exitCode).toBe(0)
    const backHistory = await run(['history', '--json'], {cwd: back})
    expect(JSON.parse(backHistory.stdout)).toEqual(JSON.parse(history.stdout))
    // sixteen CLI processes, four of them at once: about 50 s at a load of 7 on two cores, 205 s at a load of 15
  }, 600_000)

  it('says what is wrong in one sentence for a bad file or a missing URL', async () => {
    await writeFile(join(dir, 'junk.ndjson'), '{"format":"something-else"}\n')
    const junk = await run(['state', 'import', join(dir, 'junk.ndjson'), '--service', 'shop'], {cwd: dir})
    expect(junk.exitCode).toBe(2)
    expect(junk.stderr).toMatch(/line 1 is not a gray state export.*nothing was imported/)
    expect(junk.stderr).not.toMatch(/at .*\.js:\d+/)

    await writeFile(join(dir, 'taken.ndjson'), 'keep me\n')
    const taken = await run(['state', 'export', '--service', 'shop', '--output', join(dir, 'taken.ndjson')], {cwd: dir})
    expect(taken.exitCode).toBe(2)
    expect(taken.stderr).toMatch(/taken\.ndjson already exists; choose another --output/)
    expect(await readFile(join(dir, 'taken.ndjson'), 'utf8')).toBe('keep me\n')

    const noUrl = await run(['state', 'migrate', '--backend', 'postgres'], {cwd: dir, env: {GRAY_DATABASE_URL: ''}})
    expect(noUrl.exitCode).toBe(2)
    expect(noUrl.stderr).toMatch(/needs its URL: set GRAY_DATABASE_URL or give --url/)

    const secret = 'hunter2-very-secret'
    const down = await run(['state', 'migrate', '--url', `postgres://gray:${secret}@127.0.0.1:1/gray`], {cwd: dir})
    expect(down.exitCode).toBe(1)
    expect(down.stderr).toMatch(/PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/gray is unreachable/)
    expect(down.stderr + down.stdout).not.toContain(secret)
    // four CLI processes: 9 s at a load of 7, 57 s at a load of 15
  }, 240_000)
})
