// A configuration released in gray on a real etcd (started here on 127.0.0.1, its data in a temp
// dir), through bin/run.js: through promote (the official key holds the new value, the gray keys
// are gone); a gate-triggered rollback (the official key untouched, the gray keys deleted); a
// concurrent edit of the official key refused by promote; the journal holds hashes, never the
// values; `gray cohort` and the sample reader (templates/config-reader) agree with the policy.
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cohortPolicy} from '../../src/cohort/index.js'
import {run} from '../support/cli.js'
import {skipWithoutEtcd, startEtcd, type EtcdServer} from '../support/etcd.js'

const OLD = '{"checkout":{"newButton":false},"marker":"OLD-VALUE-51c2"}\n'
const NEW = '{"checkout":{"newButton":true},"marker":"NEW-VALUE-7f3a"}\n'
const EDIT = '{"checkout":{"newButton":false},"marker":"EDITED-BY-SOMEONE-9d0e"}\n'
const sha = (text: string) => createHash('sha256').update(text).digest('hex')

let etcd: EtcdServer
let projects = 0

beforeAll(async () => {
  if (!skipWithoutEtcd) etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.stop()
})

interface Project {
  dir: string
  key: string
  journal(): string
  /** the gate's reading: 0 passes, 1 fails */
  metric(value: number): void
}

/** A project releasing a new value of its own key; the official key holds OLD. */
async function project(options: {lastPause?: boolean} = {}): Promise<Project> {
  const n = ++projects
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-config-'))
  const key = `/test-${process.pid}-${n}/feature.json`
  await etcd.put(key, OLD)
  writeFileSync(path.join(dir, 'new.json'), NEW)
  writeFileSync(path.join(dir, 'metric'), '0')
  writeFileSync(path.join(dir, 'metric.mjs'), `import {readFileSync} from 'node:fs'\nconsole.log(readFileSync(${JSON.stringify(path.join(dir, 'metric'))}, 'utf8').trim())\n`)
  writeFileSync(
    path.join(dir, 'gray.yaml'),
    `service: feature-${n}
kind: config
config:
  store: etcd
  endpoints: [${etcd.url}]
  key: ${key}
  value: { file: new.json }
traffic:
  sticky: header:X-Uid
  rules:
    - { header: X-Gray, equals: "1" }
steps:
  - { weight: 10, bake: 1s }
  - { weight: 50${options.lastPause === false ? ', bake: 1s' : ', pause: true'} }
metrics:
  app: { type: command, command: [node, metric.mjs] }
gates:
  interval: 300ms
  window: 1s
  checks:
    - { name: config-errors, source: app, query: errors, max: 0.5, minPasses: 1, critical: true }
`,
  )
  return {
    dir,
    key,
    journal: () => {
      const runs = path.join(dir, '.gray', `feature-${n}`, 'runs')
      return readdirSync(runs)
        .filter((f) => f.endsWith('.ndjson'))
        .map((f) => readFileSync(path.join(runs, f), 'utf8'))
        .join('')
    },
    metric: (value) => writeFileSync(path.join(dir, 'metric'), String(value)),
  }
}

const reader = path.resolve('templates/config-reader/reader.mjs')

/** the sample reader, as an app would run it: which value this user reads */
async function read(key: string, pairs: string[]): Promise<{from: string; key: string; revision: string | null; value: string}> {
  const r = await execa(process.execPath, [reader, '--endpoint', etcd.url, '--key', key, ...pairs], {reject: false, timeout: 20_000})
  expect(r.exitCode, String(r.stderr)).toBe(0)
  return JSON.parse(String(r.stdout))
}

describe.skipIf(skipWithoutEtcd)('a config release on a real etcd', () => {
  it('goes through promote: gray users read the gray value by the policy, then the official key holds it and the gray keys are gone', async () => {
    const p = await project()
    const before = await etcd.get(p.key)
    // --detach: leave at the wait (exit 4) rather than guard it until the test's process timeout ends this one
    const start = await run(['start', '--version', 'flags-2', '--yes', '--detach'], {cwd: p.dir})
    expect(start.exitCode, start.stderr).toBe(4)

    // waiting at 50%: the gray value and the policy are published, the official key is as it was
    expect((await etcd.get(`${p.key}.gray`))?.value).toBe(NEW)
    expect(await etcd.get(p.key)).toEqual(before)
    const policy = JSON.parse((await etcd.get(`${p.key}.gray-policy`))?.value ?? 'null')
    expect(policy).toMatchObject({apiVersion: 'gray.dev/v1', service: expect.stringMatching(/^feature-/), mode: 'split', weightBasisPoints: 5000, sticky: 'header:X-Uid'})

    // `gray cohort` and the sample reader give each user the same value, from the same policy revision
    // two users the policy puts in gray, two it leaves out (by the library), and one a rule sends to gray
    const lib = cohortPolicy(policy)
    const pool = Array.from({length: 40}, (_, i) => `user-${i}`)
    const pick = (cohort: string) => pool.filter((uid) => lib.decide({uid}).cohort === cohort).slice(0, 2)
    const users = [...[...pick('gray'), ...pick('stable')].map((uid) => [`X-Uid=${uid}`]), ['X-Uid=user-x', 'header:X-Gray=1']]
    const seen = new Set<string>()
    for (const pairs of users) {
      const c = await run(['cohort', ...pairs, '--json'], {cwd: p.dir})
      expect(c.exitCode, c.stderr).toBe(0)
      const answer = JSON.parse(c.stdout) as {config: {reads: string; key: string; revision: string}}
      const readerArgs = pairs.map((pair) => (pair.startsWith('X-Uid=') ? `uid=${pair.slice(6)}` : pair))
      const got = await read(p.key, readerArgs)
      expect(got.from).toBe(answer.config.reads)
      expect(got.key).toBe(answer.config.key)
      expect(got.revision).toBe(policy.revision)
      expect(answer.config.revision).toBe(policy.revision)
      expect(got.value).toBe(got.from === 'gray' ? NEW : OLD)
      seen.add(got.from)
    }
    // at 50% both sides are among these users, and the rule's user is gray
    expect([...seen].sort()).toEqual(['gray', 'official'])

    const promote = await run(['promote', '--yes'], {cwd: p.dir})
    expect(promote.exitCode, promote.stderr).toBe(0)
    expect((await etcd.get(p.key))?.value).toBe(NEW)
    expect(await etcd.get(`${p.key}.gray`)).toBeNull()
    expect(await etcd.get(`${p.key}.gray-policy`)).toBeNull()
    expect(await read(p.key, ['uid=user-1'])).toMatchObject({from: 'official', value: NEW, revision: null})

    // the journal holds the values' hashes and the official revision, never a value
    const journal = p.journal()
    expect(journal).not.toContain('NEW-VALUE-7f3a')
    expect(journal).not.toContain('OLD-VALUE-51c2')
    const started = JSON.parse(journal.split('\n')[0] as string) as {data: {release: Record<string, unknown>}}
    expect(started.data.release).toMatchObject({key: p.key, valueSha256: sha(NEW), officialSha256: sha(OLD), officialModRevision: before?.modRevision})
    expect(journal).toContain('"type":"run.completed"')
    // twelve processes one after another: 175 s at a load of 18 on two cores
  }, 480_000)

  it('rolls back when a gate fails: the gray keys are deleted and the official key is untouched', async () => {
    const p = await project()
    const before = await etcd.get(p.key)
    p.metric(1)
    const start = await run(['start', '--version', 'flags-3', '--yes'], {cwd: p.dir})
    expect(start.exitCode, start.stderr).toBe(3)
    const journal = p.journal()
    // the step's gray value was published before the gate rolled it back
    expect(journal).toMatch(/"type":"gateway\.publish\.confirmed","data":\{[^}]*"purpose":"step"/)
    expect(journal).toContain('"type":"run.rolled_back"')
    expect(await etcd.get(p.key)).toEqual(before)
    expect(await etcd.get(`${p.key}.gray`)).toBeNull()
    expect(await etcd.get(`${p.key}.gray-policy`)).toBeNull()
    expect(journal).not.toContain('NEW-VALUE-7f3a')
    // 53 s at a load of 14
  }, 240_000)

  it('refuses to promote over a concurrent edit of the official key, and leaves the edit in place', async () => {
    const p = await project()
    expect((await run(['start', '--version', 'flags-4', '--yes', '--detach'], {cwd: p.dir})).exitCode).toBe(4)
    await etcd.put(p.key, EDIT)
    const promote = await run(['promote', '--yes', '--detach'], {cwd: p.dir})
    // the run pauses (exit 4) saying why; nothing is overwritten
    expect(promote.exitCode).toBe(4)
    expect(promote.stdout + promote.stderr).toMatch(new RegExp(`${p.key.replace(/[/.]/g, '\\$&')} was changed in etcd at .* after the run started \\(mod_revision \\d+, now \\d+.*gray did not overwrite it`))
    expect((await etcd.get(p.key))?.value).toBe(EDIT)
    expect((await etcd.get(`${p.key}.gray`))?.value).toBe(NEW)
    const status = JSON.parse((await run(['status', '--json'], {cwd: p.dir})).stdout) as {run: {state: string; reason: string}}
    expect(status.run.state).toBe('paused')

    // rollback drops the gray value; the edit stays
    const rollback = await run(['rollback', '--yes', '--reason', 'official key edited'], {cwd: p.dir})
    expect(rollback.exitCode, rollback.stderr).toBe(3)
    expect((await etcd.get(p.key))?.value).toBe(EDIT)
    expect(await etcd.get(`${p.key}.gray`)).toBeNull()
    expect(await etcd.get(`${p.key}.gray-policy`)).toBeNull()
    // five CLI processes: 103 s at a load of 14
  }, 300_000)
})
