import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ConfigError} from '../../../src/core/errors.js'
import {ServiceStore, newRunId} from '../../../src/state/store.js'

let tmp: string
let stateDir: string

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gray-store-'))
  stateDir = join(tmp, '.gray')
})

afterEach(async () => {
  await rm(tmp, {recursive: true, force: true})
})

describe('newRunId', () => {
  it('starts with the UTC time so ids sort by time', () => {
    const id = newRunId(Date.parse('2026-11-22T03:45:00.789Z'))
    expect(id).toMatch(/^20261122T034500789Z-[0-9a-f]{6}$/)
    expect(newRunId(Date.parse('2026-11-22T03:45:01Z')) > id).toBe(true)
    expect(newRunId(Date.parse('2026-11-22T03:45:00Z'))).not.toBe(newRunId(Date.parse('2026-11-22T03:45:00Z')))
  })
})

describe('ServiceStore', () => {
  it('reads an empty history without creating .gray/', async () => {
    const store = new ServiceStore(stateDir, 'checkout')
    expect(await store.listRuns()).toEqual([])
    expect(await store.latestRun()).toBeNull()
    await expect(stat(stateDir)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('lays out private directories and lists runs oldest first', async () => {
    const store = new ServiceStore(stateDir, 'checkout')
    await store.ensureDirs()
    expect(store.dir).toBe(join(stateDir, 'checkout'))
    for (const path of [stateDir, store.dir, store.runsDir, join(store.dir, 'inbox')]) {
      expect((await stat(path)).mode & 0o777).toBe(0o700)
    }

    const ids = ['20261122T034500Z-aaaaaa', '20250101T000000Z-ffffff', '20261122T040000Z-000000']
    for (const id of ids) await writeFile(store.runPath(id), '')
    await writeFile(join(store.runsDir, 'notes.txt'), '')

    expect(store.runPath(ids[0]!)).toBe(join(stateDir, 'checkout', 'runs', `${ids[0]}.ndjson`))
    expect(await store.listRuns()).toEqual([ids[1], ids[0], ids[2]])
    expect(await store.latestRun()).toBe(ids[2])
  })

  it('refuses names that would leave the state directory', () => {
    expect(() => new ServiceStore(stateDir, '../etc')).toThrow(ConfigError)
    const store = new ServiceStore(stateDir, 'checkout')
    expect(() => store.runPath('../../x')).toThrow(ConfigError)
  })
})
