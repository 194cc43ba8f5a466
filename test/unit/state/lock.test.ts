import {mkdtemp, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {GrayError, LockedError} from '../../../src/core/errors.js'
import type {Actor} from '../../../src/core/ports.js'
import {acquireLock, readHolder, type Lock} from '../../../src/state/lock.js'
import {buildLockModule, spawnLockHolder, type LockHolder} from './lock-holder.js'

const STALE_MS = 2000
const actor: Actor = {user: 'bob', host: hostname(), pid: process.pid, ci: false}

let tmp: string
let lockModule: string
const holders: LockHolder[] = []
const locks: Lock[] = []

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gray-lock-'))
  lockModule = await buildLockModule(tmp)
})

afterEach(async () => {
  for (const holder of holders.splice(0)) holder.kill()
  for (const lock of locks.splice(0)) await lock.release()
})

afterAll(async () => {
  await rm(tmp, {recursive: true, force: true})
})

let dirs = 0
const serviceDir = () => join(tmp, `svc-${++dirs}`, 'checkout')

async function acquire(dir: string, options: Partial<Parameters<typeof acquireLock>[1]> = {}): Promise<Lock> {
  const lock = await acquireLock(dir, {actor, staleMs: STALE_MS, ...options})
  locks.push(lock)
  return lock
}

async function holdInChild(dir: string): Promise<LockHolder> {
  const holder = await spawnLockHolder(lockModule, dir, STALE_MS)
  holders.push(holder)
  return holder
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((done) => setTimeout(done, 100))
}

describe('acquireLock', () => {
  it('records the holder privately with a new epoch each time', async () => {
    const dir = serviceDir()
    const first = await acquire(dir)
    expect(first.epoch).toBe(1)
    expect(first.takenOverFrom).toBeUndefined()
    const recorded = JSON.parse(await readFile(join(dir, 'holder.json'), 'utf8'))
    expect(recorded).toMatchObject({user: 'bob', host: hostname(), pid: process.pid, ci: false, epoch: 1})
    expect(Date.parse(recorded.since)).not.toBeNaN()
    expect((await stat(join(dir, 'holder.json'))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    first.assertHeld()

    await first.release()
    expect(await readHolder(dir)).toBeNull()
    expect(() => first.assertHeld()).toThrow(GrayError)

    const second = await acquire(dir)
    expect(second.epoch).toBe(2)
    expect(second.takenOverFrom).toBeUndefined()
  })

  it('refuses while a live process holds the lock, naming it', async () => {
    const dir = serviceDir()
    const holder = await holdInChild(dir)

    const error = await acquire(dir).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(LockedError)
    expect((error as LockedError).exitCode).toBe(5)
    expect((error as LockedError).message).toMatch(
      new RegExp(`^checkout is driven by alice@${hostname()} \\(pid ${holder.pid}\\) since \\d\\d:\\d\\d:\\d\\d; wait for it`),
    )

    const state = await readHolder(dir, {staleMs: STALE_MS})
    expect(state).toMatchObject({alive: true, holder: {pid: holder.pid, epoch: holder.epoch}})
    expect(await holder.check()).toBe('held')
  })

  it('takes over from a holder that was killed, with the next epoch', async () => {
    const dir = serviceDir()
    const holder = await holdInChild(dir)
    holder.child.kill('SIGKILL')
    await new Promise((done) => holder.child.once('exit', done))
    expect(await readHolder(dir, {staleMs: STALE_MS})).toMatchObject({alive: false, holder: {pid: holder.pid}})

    const lock = await acquire(dir)
    expect(lock.epoch).toBe(holder.epoch + 1)
    expect(lock.takenOverFrom).toMatchObject({pid: holder.pid, epoch: holder.epoch})
    expect(JSON.parse(await readFile(join(dir, 'epoch'), 'utf8'))).toBe(lock.epoch)
    lock.assertHeld()
  })

  it('takes over from a stopped holder, which then finds it may no longer write', async () => {
    const dir = serviceDir()
    const holder = await holdInChild(dir)
    holder.child.kill('SIGSTOP')
    await expect(acquire(dir)).rejects.toBeInstanceOf(LockedError)
    await until(async () => (await readHolder(dir, {staleMs: STALE_MS}))?.alive === false)

    const lock = await acquire(dir)
    expect(lock.takenOverFrom).toMatchObject({pid: holder.pid})
    holder.child.kill('SIGCONT')

    expect(await holder.check()).toMatch(/^lost: checkout is no longer driven by this process/)
    expect(await holder.nextLine('compromised: ')).toMatch(/no longer driven by this process/)
    lock.assertHeld()
    expect(await readHolder(dir, {staleMs: STALE_MS})).toMatchObject({alive: true, holder: {pid: process.pid, epoch: lock.epoch}})
  })

  it('fences a holder that hung past the staleness limit in this process', async () => {
    const dir = serviceDir()
    const hung = await acquire(dir)
    const compromised = new Promise<GrayError>((resolve) => hung.onCompromised(resolve))
    // the heartbeat stopped long ago, as it does when the event loop hangs
    const past = new Date(Date.now() - 60_000)
    await utimes(join(dir, 'driver.lock'), past, past)

    const successor = await acquire(dir, {actor: {...actor, user: 'carol'}})
    expect(successor.epoch).toBe(hung.epoch + 1)
    expect(successor.takenOverFrom).toMatchObject({user: 'bob', epoch: hung.epoch})
    expect(() => hung.assertHeld()).toThrow(/no longer driven by this process/)
    expect((await compromised).message).toMatch(/no longer driven by this process/)

    await hung.release()
    successor.assertHeld()
    expect(await readHolder(dir, {staleMs: STALE_MS})).toMatchObject({holder: {user: 'carol', epoch: successor.epoch}})
  })
})

describe('acquireLock: a dead holder on this machine', () => {
  // a staleness limit no test waits out, and no patience: only the immediate takeover can succeed
  const NEVER_STALE = {staleMs: 600_000, waitForDeadMs: 0}

  async function killed(dir: string): Promise<LockHolder> {
    const holder = await holdInChild(dir)
    holder.child.kill('SIGKILL')
    await new Promise((done) => holder.child.once('exit', done))
    return holder
  }

  it('is taken over at once when its pid is gone, though its heartbeat is fresh, with the next epoch', async () => {
    const dir = serviceDir()
    const holder = await killed(dir)
    const recorded = JSON.parse(await readFile(join(dir, 'holder.json'), 'utf8'))
    expect(recorded).toMatchObject({host: hostname(), pid: holder.pid, lockIno: (await stat(join(dir, 'driver.lock'))).ino})
    expect(recorded.machine).toEqual(expect.any(String))

    const lock = await acquire(dir, NEVER_STALE)
    expect(lock.epoch).toBe(holder.epoch + 1)
    expect(lock.takenOverFrom).toMatchObject({pid: holder.pid, epoch: holder.epoch})
    lock.assertHeld()
    expect(await readHolder(dir, {staleMs: 600_000})).toMatchObject({alive: true, holder: {pid: process.pid, epoch: lock.epoch}})
    // the takeover mutex is gone once the new holder is recorded
    await expect(stat(join(dir, 'driver.takeover'))).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('is refused (exit 5) while its pid is alive, however fresh the successor', async () => {
    const dir = serviceDir()
    const holder = await holdInChild(dir)
    const error = await acquire(dir, NEVER_STALE).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LockedError)
    expect((error as LockedError).exitCode).toBe(5)
    expect(await holder.check()).toBe('held')
  })

  it('goes to exactly one of several successors racing for it', async () => {
    const dir = serviceDir()
    const holder = await killed(dir)
    const results = await Promise.allSettled(
      ['carol', 'dave', 'erin', 'frank'].map((user) => acquireLock(dir, {actor: {...actor, user}, staleMs: 600_000, waitForDeadMs: 3_000})),
    )
    const won = results.filter((r): r is PromiseFulfilledResult<Lock> => r.status === 'fulfilled')
    locks.push(...won.map((r) => r.value))
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LockedError)
    expect(won[0]!.value.epoch).toBe(holder.epoch + 1)
    won[0]!.value.assertHeld()
  })

  it('a holder of another host, or of another boot of this host, waits for the staleness limit', async () => {
    for (const elsewhere of [{host: 'build-7.example'}, {machine: 'another-boot/pid:[1]'}]) {
      const dir = serviceDir()
      const holder = await killed(dir)
      const file = join(dir, 'holder.json')
      await writeFile(file, JSON.stringify({...JSON.parse(await readFile(file, 'utf8')), ...elsewhere}))
      // its pid means nothing here: while the heartbeat is fresh it counts as alive
      expect(await readHolder(dir, {staleMs: 600_000})).toMatchObject({alive: true})
      await expect(acquire(dir, NEVER_STALE)).rejects.toBeInstanceOf(LockedError)
      // once the heartbeat is older than the limit, it is taken over
      const past = new Date(Date.now() - 60_000)
      await utimes(join(dir, 'driver.lock'), past, past)
      const lock = await acquire(dir, {staleMs: 30_000, waitForDeadMs: 0})
      expect(lock.takenOverFrom).toMatchObject({pid: holder.pid, ...elsewhere})
      expect(lock.epoch).toBe(holder.epoch + 1)
    }
  })
})

describe('readHolder', () => {
  it('returns null when nobody ever held the lock, and creates nothing', async () => {
    const dir = serviceDir()
    expect(await readHolder(dir)).toBeNull()
    await expect(stat(dir)).rejects.toMatchObject({code: 'ENOENT'})
  })
})
