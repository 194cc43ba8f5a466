// The driver's Journal and Inbox ports over a StateBackend (src/state/driver-ports.ts),
// on the local backend in a real temp directory.
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {LockedError} from '../../../src/core/errors.js'
import {lazyBackend, type Lease, type StateBackend} from '../../../src/state/backend.js'
import {BackendJournal, backendInbox} from '../../../src/state/driver-ports.js'
import {LocalBackend} from '../../../src/state/local.js'

const holder = {user: 'tester', host: 'test-host', pid: process.pid, ci: false, kind: 'cli' as const}
const open: StateBackend[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()))
})

function backend(): LocalBackend {
  const b = new LocalBackend(mkdtempSync(path.join(tmpdir(), 'gray-driver-ports-')))
  open.push(b)
  return b
}

describe('BackendJournal', () => {
  it('appends under the lease at the next seq and keeps what it wrote', async () => {
    const b = backend()
    const lease = await b.acquireLease('shop', holder, {ttlMs: 5000})
    await b.createRun('shop', 'r1', lease, {type: 'run.started', data: {}})
    const journal = await BackendJournal.open(b, 'shop', 'r1', lease)
    const e = await journal.append('driver.attached', {epoch: lease.epoch})
    expect(e).toMatchObject({seq: 2, type: 'driver.attached', actor: {user: 'tester', host: 'test-host', pid: process.pid, ci: false}})
    expect(journal.events().map((x) => x.seq)).toEqual([1, 2])
    expect((await b.readEvents('shop', 'r1')).map((x) => x.type)).toEqual(['run.started', 'driver.attached'])
    await lease.release()
  })

  it('writes nothing once the run moved on under it (a writer that missed an event)', async () => {
    const b = backend()
    const lease = await b.acquireLease('shop', holder, {ttlMs: 5000})
    await b.createRun('shop', 'r1', lease, {type: 'run.started', data: {}})
    const journal = await BackendJournal.open(b, 'shop', 'r1', lease)
    await b.append('shop', 'r1', lease, [{type: 'other.writer', data: {}}])
    await expect(journal.append('step.started', {})).rejects.toBeInstanceOf(LockedError)
    expect((await b.readEvents('shop', 'r1')).map((x) => x.type)).toEqual(['run.started', 'other.writer'])
    await lease.release()
  })

  it('writes nothing once its lease is gone', async () => {
    const b = backend()
    const lease = await b.acquireLease('shop', holder, {ttlMs: 5000})
    await b.createRun('shop', 'r1', lease, {type: 'run.started', data: {}})
    const journal = await BackendJournal.open(b, 'shop', 'r1', lease)
    await lease.release()
    await expect(journal.append('step.started', {})).rejects.toBeInstanceOf(LockedError)
    expect(await b.readEvents('shop', 'r1')).toHaveLength(1)
  })
})

describe('backendInbox', () => {
  it('hands over a posted request until it is acked, and wakes its listener when one arrives', async () => {
    const b = backend()
    const inbox = backendInbox(b, 'shop')
    let woken = 0
    const stop = inbox.onArrival(() => woken++)
    const wake = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (woken > 0) resolve(clearInterval(check))
      }, 10)
    })
    await b.postRequest('shop', {kind: 'promote', actor: {user: 'tester', host: 'test-host', pid: process.pid, ci: false}})
    await wake
    stop()
    const waiting = await inbox.peek()
    expect(waiting.map((r) => r.kind)).toEqual(['promote'])
    expect(await inbox.peek()).toEqual(waiting)
    await inbox.ack(waiting)
    expect(await inbox.peek()).toEqual([])
  })
})

describe('lazyBackend', () => {
  it('names where the state lives without opening it, and opens on first use', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-lazy-'))
    const b = lazyBackend({dir})
    open.push(b)
    expect(b.kind).toBe('local')
    expect(b.where).toBe(dir)
    expect(await b.listRuns('shop')).toEqual([])
    const pg = lazyBackend({dir, backend: 'postgres', url: 'postgres://user:hunter22@db.internal:5432/gray'})
    expect(pg.where).toBe('postgres://db.internal:5432/gray')
    await pg.close()
  })
})

describe('BackendJournal and a late reply', () => {
  it('an append whose reply comes back after the lease can no longer be proven fails, so the side effect it announces is not made', async () => {
    const b = backend()
    const lease = await b.acquireLease('shop', holder, {ttlMs: 5000})
    await b.createRun('shop', 'r1', lease, {type: 'run.started', data: {}})
    const journal = await BackendJournal.open(b, 'shop', 'r1', lease)
    // the backend commits the event under a live lease, but its reply arrives once the lease can no longer be proven held
    let proven = true
    const late: Lease = Object.create(lease, {
      assertHeld: {
        value: () => {
          if (!proven) throw new LockedError('shop is no longer driven by this process (no heartbeat reached the database)')
        },
      },
    })
    const slow: StateBackend = Object.create(b, {
      append: {
        value: async (...args: Parameters<StateBackend['append']>) => {
          const written = await b.append(args[0], args[1], lease, args[3], args[4])
          if (args[3].length > 0) proven = false
          return written
        },
      },
    })
    const cut = await BackendJournal.open(slow, 'shop', 'r1', late)
    await expect(cut.append('gateway.publish.started', {revision: 'r1.2'})).rejects.toBeInstanceOf(LockedError)
    // the event stays written (an intent whose effect was never made, as after a crash), and the journal knows it
    expect((await b.readEvents('shop', 'r1')).map((x) => x.type)).toEqual(['run.started', 'gateway.publish.started'])
    expect(cut.events().map((x) => x.type)).toEqual(['run.started', 'gateway.publish.started'])
    expect(journal.events()).toHaveLength(1)
    await lease.release()
  })
})
