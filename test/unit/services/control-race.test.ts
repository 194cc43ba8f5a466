// A control command that finds the run unfinished, then takes the seat after
// another command ended it, must write nothing to the finished journal: the
// interleaving a fresh-clone run once hit by chance, forced here.
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import {ExitCode} from '../../../src/core/errors.js'
import {contextOf, type Context} from '../../../src/services/context.js'
import {readJournal} from '../../../src/state/journal.js'
import {startPolicyPlane, type PolicyPlane} from '../../support/policy-plane.js'

// Between the first look at the run and taking the seat, another command may end the run:
// `between` runs there, once, when a test sets it.
const hook = vi.hoisted(() => ({between: null as null | (() => Promise<void>)}))
vi.mock('../../../src/services/drive.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/services/drive.js')>()
  return {
    ...real,
    takeLock: async (ctx: Context) => {
      const between = hook.between
      hook.between = null
      if (between) await between()
      return real.takeLock(ctx)
    },
  }
})

const {control} = await import('../../../src/services/control.js')
const {startRun} = await import('../../../src/services/start.js')

let plane: PolicyPlane
beforeAll(async () => {
  plane = await startPolicyPlane()
})
afterAll(async () => plane.close())

function context(): Context {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-control-race-'))
  const config = configFromObject(
    {
      service: 'shop',
      hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
      deploy: {command: ['true']},
      gateway: {type: 'http', url: plane.url},
      traffic: {sticky: 'cookie:uid'},
      steps: [{weight: 10, pause: true}, {weight: 100}],
      state: {dir: path.join(dir, 'state')},
    },
    path.join(dir, 'gray.yaml'),
  )
  return contextOf(config)
}

describe('a control command racing a run that ends', () => {
  it.each(['promote', 'pause', 'resume'] as const)('%s that takes the seat after a rollback ended the run answers "rolled back" and writes nothing', async (kind) => {
    const ctx = context()
    const started = await startRun(ctx, {version: 'v2', previousVersion: 'v1', detach: true})
    expect(started.state.status).toBe('waiting')
    expect(started.exitCode).toBe(ExitCode.paused)

    hook.between = async () => {
      const rolled = await control(ctx, 'rollback', {reason: 'on-call saw errors'})
      expect(rolled.state.status).toBe('rolled_back')
    }
    const result = await control(ctx, kind)

    expect(hook.between).toBeNull() // the interleaving happened
    expect(result.state.status).toBe('rolled_back')
    expect(result.exitCode).toBe(3)
    const {events} = await readJournal(ctx.store.runPath(started.runId))
    const types = events.map((e) => e.type)
    expect(types.at(-1)).toBe('run.rolled_back')
    // one request only: the rollback's; the late command journaled none
    expect(events.filter((e) => e.type === 'request.received').map((e) => e.data.kind)).toEqual(['rollback'])
  })
})
