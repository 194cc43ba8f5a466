// Concurrent control requests (class 6 of issue 11): promote, rollback and
// pause fired together at a live driver. Each request is journaled exactly
// once, and every command's exit code says how the run ended — the rollback
// wins, so none of them exits 0 on a run that rolled back. The gateway is a
// small loopback control plane that keeps the policy it is given.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {JournalEvent} from '../../src/core/ports.js'
import {readJournal} from '../../src/state/journal.js'
import {ServiceStore} from '../../src/state/store.js'
import {gray, run} from '../support/cli.js'
import {startPolicyPlane, type PolicyPlane} from '../support/policy-plane.js'

async function journal(dir: string): Promise<JournalEvent[]> {
  const store = new ServiceStore(path.join(dir, '.gray'), 'shop')
  const id = (await store.listRuns()).at(-1)
  return id ? (await readJournal(store.runPath(id))).events : []
}

describe('promote, rollback and pause fired together at a live driver', () => {
  let plane: PolicyPlane
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-concurrent-'))

  beforeAll(async () => {
    plane = await startPolicyPlane()
    const {url} = plane
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      JSON.stringify({
        service: 'shop',
        hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
        deploy: {command: [process.execPath, '-e', '0', '{version}']},
        gateway: {type: 'http', url},
        // the last bake is long too, so the run can only end by the rollback: with a short one a slow
        // machine let a promote finish the run before the rollback command had even started (exit 2, no rollback)
        steps: [{weight: 10, bake: '2m'}, {weight: 100, bake: '10m'}],
      }),
    )
  })
  afterAll(async () => plane.close())

  it('each request is journaled once, and every exit code says how the run stood when the request was carried out', async () => {
    const env = {GRAY_LOCK_STALE_MS: '4000'}
    const driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir, env})
    // wait until the driver bakes the first step
    for (let i = 0; i < 600 && !(await journal(dir)).some((e) => e.type === 'step.started'); i++) await delay(100)
    expect((await journal(dir)).some((e) => e.type === 'step.started')).toBe(true)

    const [promote, rollback, pause] = await Promise.all([
      run(['promote', '--yes'], {cwd: dir, env}),
      run(['rollback', '--yes', '--reason', 'together'], {cwd: dir, env}),
      run(['pause', '--reason', 'together'], {cwd: dir, env}),
    ])
    const started = await driver
    const events = await journal(dir)
    const received = events.filter((e) => e.type === 'request.received')
    const about = `${events.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data).slice(0, 80)}`).join('\n')}\npromote: ${promote.stderr}\npause: ${pause.stderr}`
    // each request journaled once at most: one that arrives after the rollback ended finds the run over and is never posted
    const kinds = received.map((e) => String(e.data.kind))
    expect(new Set(received.map((e) => e.data.id)).size, about).toBe(received.length)
    expect(new Set(kinds).size, about).toBe(kinds.length)
    expect(kinds, about).toContain('rollback')
    expect(events.at(-1)?.type, about).toBe('run.rolled_back')
    const codes = {start: started.exitCode, promote: promote.exitCode, rollback: rollback.exitCode, pause: pause.exitCode}
    for (const kind of ['promote', 'pause'] as const) {
      if (!kinds.includes(kind)) {
        expect(codes[kind], about).toBe(3)
        expect(kind === 'promote' ? promote.stderr : pause.stderr, about).toMatch(/already ended \(rolled_back\)/)
      }
    }
    const seqOf = (kind: string) => received.find((e) => e.data.kind === kind)?.seq ?? Infinity
    const rollbackSeq = events.find((e) => e.type === 'rollback.started')?.seq ?? Infinity
    // nobody fails or is locked out; the rollback itself ends rolled back
    expect(Object.values(codes).every((c) => [0, 3, 4].includes(c ?? -1)), `${JSON.stringify(codes)}\n${about}`).toBe(true)
    expect(codes.rollback, about).toBe(3)
    // promote may say 0 only when it was carried out before any rollback was asked for
    if (codes.promote === 0) expect(seqOf('promote'), about).toBeLessThan(Math.min(rollbackSeq, seqOf('rollback')))
    // a pause that came after the rollback was asked for waits the rollback out: 3; before it, the run did pause: 4
    expect(codes.pause, about).toBe(seqOf('pause') > seqOf('rollback') ? 3 : 4)
    // start ends with the run as its driver left it: rolled back, or paused (4) when a pause came first and it detached
    expect(codes.start, about).toBe(events.some((e) => e.type === 'driver.detached' && e.seq < rollbackSeq) ? 4 : 3)
  }, 180_000)
})

describe('a placeholder gray cannot fill for this run', () => {
  it('{previousVersion} in deploy.command with no previous version known: start exits 2 and writes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-prev-'))
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      JSON.stringify({
        service: 'shop',
        hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
        deploy: {command: [process.execPath, '-e', '0', '{version}', '{previousVersion}']},
        gateway: {type: 'http', url: 'http://127.0.0.1:9/policies/{service}'},
      }),
    )
    const r = await run(['start', '--version', 'v2', '--yes'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/deploy\.command uses \{previousVersion\}, but no previous version of shop is known\n\s+pass --previous-version V/)
    expect(await journal(dir)).toEqual([])
  })
})
