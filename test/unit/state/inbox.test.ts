import {mkdir, mkdtemp, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ConfigError} from '../../../src/core/errors.js'
import type {Actor, RequestKind} from '../../../src/core/ports.js'
import {FileInbox, postRequest} from '../../../src/state/inbox.js'

const actor: Actor = {user: 'alice', host: 'laptop', pid: 99, ci: false}

let tmp: string
let dir: string
const stops: (() => void)[] = []

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gray-inbox-'))
  dir = join(tmp, 'checkout')
})

afterEach(async () => {
  for (const stop of stops.splice(0)) stop()
  await rm(tmp, {recursive: true, force: true})
})

const post = (kind: RequestKind, at: string, reason?: string) => postRequest(dir, {kind, actor, at, reason})

function nextArrival(inbox: FileInbox): Promise<void> {
  return new Promise((resolve) => {
    const stop = inbox.onArrival(() => {
      stop()
      resolve()
    })
    stops.push(stop)
  })
}

describe('FileInbox', () => {
  it('hands out posted requests oldest first, until each is acked', async () => {
    const later = await post('rollback', '2026-11-22T03:46:00.000Z', 'errors up')
    const earlier = await post('pause', '2026-11-22T03:45:00.000Z')
    expect(later).toMatchObject({kind: 'rollback', reason: 'errors up', actor, id: expect.stringMatching(/^[0-9a-f]{8}$/)})

    const files = await readdir(join(dir, 'inbox'))
    expect(files).toHaveLength(2)
    expect(files.every((name) => /^\d{8}T\d{9}Z-[0-9a-f]{8}\.json$/.test(name))).toBe(true)
    expect((await stat(join(dir, 'inbox', files[0]!))).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'inbox'))).mode & 0o777).toBe(0o700)

    const inbox = new FileInbox(dir)
    expect(await inbox.peek()).toEqual([earlier, later])
    // nothing is removed until the driver acks it (it has journaled it)
    expect(await inbox.peek()).toEqual([earlier, later])
    await inbox.ack([earlier])
    expect(await new FileInbox(dir).peek()).toEqual([later])
    // acking again, or one another process acked, is no error
    await inbox.ack([earlier, later])
    await inbox.ack([later])
    expect(await inbox.peek()).toEqual([])
    expect(await readdir(join(dir, 'inbox'))).toEqual([])
  })

  it('a file whose name does not match its request is set aside, as it could never be acked', async () => {
    const good = await post('promote', '2026-11-22T03:45:00.000Z')
    const inboxDir = join(dir, 'inbox')
    await writeFile(join(inboxDir, '20261122T034500000Z-other.json'), JSON.stringify(good))
    expect(await new FileInbox(dir).peek()).toEqual([good])
    expect(await readdir(join(inboxDir, 'rejected'))).toEqual(['20261122T034500000Z-other.json'])
  })

  it('moves malformed requests aside and skips unfinished writes', async () => {
    const good = await post('promote', '2026-11-22T03:45:00.000Z')
    const inboxDir = join(dir, 'inbox')
    await writeFile(join(inboxDir, '20261122T034400000Z-bad.json'), '{"kind":')
    await writeFile(join(inboxDir, '20261122T034401000Z-odd.json'), JSON.stringify({...good, id: 'odd', kind: 'delete'}))
    await writeFile(join(inboxDir, '20261122T034402000Z-wip.json.1-abc.tmp'), '{')

    expect(await new FileInbox(dir).peek()).toEqual([good])
    expect((await readdir(join(inboxDir, 'rejected'))).sort()).toEqual(['20261122T034400000Z-bad.json', '20261122T034401000Z-odd.json'])
    expect(await readdir(inboxDir)).toEqual(expect.arrayContaining(['rejected', '20261122T034402000Z-wip.json.1-abc.tmp']))
  })

  it('finds nothing, and creates nothing, when no inbox exists', async () => {
    expect(await new FileInbox(dir).peek()).toEqual([])
    await expect(stat(dir)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('refuses to post a request of an unknown kind', async () => {
    await expect(postRequest(dir, {kind: 'delete' as RequestKind, actor})).rejects.toBeInstanceOf(ConfigError)
    await expect(postRequest(dir, {kind: 'pause', actor, id: '../x'})).rejects.toBeInstanceOf(ConfigError)
  })

  it('wakes the listener when a request arrives', async () => {
    await mkdir(join(dir, 'inbox'), {recursive: true})
    const inbox = new FileInbox(dir)
    const arrived = nextArrival(inbox)
    const posted = await post('rollback', new Date().toISOString())
    await arrived
    expect(await inbox.peek()).toEqual([posted])
  })

  it('falls back to polling when the inbox cannot be watched yet', async () => {
    const inbox = new FileInbox(dir, {pollMs: 50})
    const arrived = nextArrival(inbox)
    const posted = await post('resume', new Date().toISOString())
    await arrived
    expect(await inbox.peek()).toEqual([posted])
  })
})
