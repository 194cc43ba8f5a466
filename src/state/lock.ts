// One driver per service. proper-lockfile holds `<dir>/driver.lock` and keeps its
// mtime fresh (the heartbeat); holder.json says who holds it and under which
// epoch, so a holder that hung past the staleness limit can tell it lost the lock.
// A holder on this machine whose process is gone is taken over at once; one on
// another machine only once its heartbeat is older than the staleness limit.
import {readFileSync, readlinkSync, statSync} from 'node:fs'
import {mkdir, open, rmdir, stat, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import {basename, join, resolve} from 'node:path'
import type {LockOptions as FileLockOptions} from 'proper-lockfile'

import {actorName, type Actor} from '../core/ports.js'
import {GrayError, LockedError, errorMessage} from '../core/errors.js'
import {ensurePrivateDir, NOFOLLOW_APPEND, readPrivateFile, writeAtomic} from './files.js'

export interface Holder extends Actor {
  /** ISO time the lock was taken */
  since: string
  epoch: number
  /** the kernel's boot id and pid namespace, so "this machine" means the pid can be checked */
  machine?: string
  /** the inode of the lock directory this holder made */
  lockIno?: number
}

export interface Lock {
  readonly epoch: number
  readonly holder: Holder
  /** the holder whose lock was taken over because it had stopped */
  readonly takenOverFrom?: Holder
  release(): Promise<void>
  onCompromised(listener: (error: GrayError) => void): () => void
  /** throws when this process no longer holds the lock; call before every write */
  assertHeld(): void
}

export interface LockOptions {
  actor: Actor
  /** a heartbeat older than this means the holder stopped (proper-lockfile's minimum is 2000) */
  staleMs?: number
  updateMs?: number
  /** how long to wait for a stopped holder's lock to go stale; default staleMs + 2s */
  waitForDeadMs?: number
  /** for messages; defaults to the directory's name, which is the service */
  service?: string
}

export interface HolderState {
  holder: Holder
  alive: boolean
  /** the last heartbeat, when the lock is still on disk */
  heartbeatAt?: string
}

const MIN_STALE_MS = 2000
const RETRY_EVERY_MS = 250

const driverFile = (dir: string) => join(resolve(dir), 'driver')
const lockDirOf = (dir: string) => `${driverFile(dir)}.lock`
const holderFile = (dir: string) => join(dir, 'holder.json')
const epochFile = (dir: string) => join(dir, 'epoch')
/** held only while a dead holder on this machine is being replaced, so two successors never both replace it */
const takeoverDir = (dir: string) => `${driverFile(dir)}.takeover`
/**
 * names the dead holder whose lock directory a successor removed. A lock directory made
 * afterwards may get the removed one's inode number back, so the inode alone cannot tell a
 * successor's fresh lock from the dead one's: without this mark a second replacer could
 * remove the lock a plain acquirer had just taken, and both would hold it.
 */
const replacedFile = (dir: string) => join(dir, 'replaced')
const replacedMark = (dead: Holder) => `${dead.epoch}:${dead.pid}:${dead.since}`

/** the Lock objects of this process by lock target, so a superseded one never releases its successor */
const heldHere = new Map<string, DriverLock>()

export async function acquireLock(dir: string, options: LockOptions): Promise<Lock> {
  const staleMs = Math.max(options.staleMs ?? 10_000, MIN_STALE_MS)
  const service = options.service ?? basename(resolve(dir))
  await ensurePrivateDir(dir)
  // never through a symlink (O_NOFOLLOW): a planted link must not make gray create or touch its target
  await (await open(driverFile(dir), NOFOLLOW_APPEND, 0o600)).close()

  const target = driverFile(dir)
  let compromised: ((error: Error) => void) | undefined
  const lockOptions = {
    stale: staleMs,
    update: options.updateMs ?? 1000,
    realpath: false,
    onCompromised: (error: Error) => compromised?.(error),
  }

  let release = await tryLock(target, lockOptions)
  let takeover: (() => Promise<void>) | null = null
  if (!release) {
    const state = await readHolder(dir, {staleMs})
    if (!state || state.alive) throw lockedError(service, dir, state?.holder)
    ;({release, takeover} = await takeDeadLock(dir, service, target, lockOptions, options.waitForDeadMs ?? staleMs + 2000, staleMs))
  }

  try {
    const lockDir = statSync(lockDirOf(dir))
    // a holder file left behind means its holder never released: we took over
    const previous = await readHolderFile(dir)
    const epoch = Math.max(await readEpoch(dir), previous?.epoch ?? 0) + 1
    const holder: Holder = {...options.actor, since: new Date().toISOString(), epoch, machine: thisMachine(), lockIno: lockDir.ino}
    await writeAtomic(epochFile(dir), `${epoch}\n`)
    await writeAtomic(holderFile(dir), JSON.stringify(holder, null, 2) + '\n')

    const lock = new DriverLock(dir, service, holder, release, lockDir.ino, staleMs, previous ?? undefined)
    compromised = (error) => lock.compromise(error)
    heldHere.set(target, lock)
    return lock
  } catch (error) {
    await release().catch(() => undefined)
    throw new GrayError(`could not record the lock holder in ${dir}: ${errorMessage(error)}`, {cause: error})
  } finally {
    // only now, with the holder file ours, may another successor look again
    await takeover?.()
  }
}

/** Who drives the service, without taking the lock (for `status`); null when nobody holds it. */
export async function readHolder(dir: string, options: {staleMs?: number} = {}): Promise<HolderState | null> {
  const holder = await readHolderFile(dir)
  if (!holder) return null
  const staleMs = Math.max(options.staleMs ?? 10_000, MIN_STALE_MS)

  let heartbeat: number
  try {
    heartbeat = (await stat(lockDirOf(dir))).mtimeMs
  } catch {
    return {holder, alive: false}
  }

  const fresh = heartbeat >= Date.now() - staleMs
  const alive = fresh && !goneHere(holder)
  return {holder, alive, heartbeatAt: new Date(heartbeat).toISOString()}
}

/**
 * The holder ran on this machine (same host name, and where both recorded them the
 * same boot and pid namespace) and its process no longer exists. Only then does its
 * pid say anything: elsewhere, a pid of this machine names another process or none.
 */
function goneHere(holder: Holder): boolean {
  if (holder.host !== hostname()) return false
  const here = thisMachine()
  if (holder.machine !== undefined && here !== undefined && holder.machine !== here) return false
  return !processExists(holder.pid)
}

let machine: string | undefined | null = null

/** `<boot id>/<pid namespace>` on Linux; undefined where neither can be read */
export function thisMachine(): string | undefined {
  if (machine !== null) return machine
  const read = (f: () => string) => {
    try {
      return f().trim()
    } catch {
      return ''
    }
  }
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'))
  const pidns = read(() => readlinkSync('/proc/self/ns/pid'))
  machine = boot || pidns ? `${boot}/${pidns}` : undefined
  return machine
}

class DriverLock implements Lock {
  readonly takenOverFrom?: Holder
  private readonly listeners = new Set<(error: GrayError) => void>()
  private lost: GrayError | null = null
  private released = false

  constructor(
    private readonly dir: string,
    private readonly service: string,
    readonly holder: Holder,
    private readonly releaseLock: () => Promise<void>,
    /** a successor's lock directory is a new directory */
    private readonly lockDirIno: number,
    private readonly staleMs: number,
    takenOverFrom?: Holder,
  ) {
    this.takenOverFrom = takenOverFrom
  }

  get epoch(): number {
    return this.holder.epoch
  }

  assertHeld(): void {
    if (this.released) throw this.lostError('this process already released it')
    if (this.lost) throw this.lost
    const reason = this.whyNotHeld()
    if (reason) throw this.lostError(reason)
  }

  onCompromised(listener: (error: GrayError) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    const target = driverFile(this.dir)
    if (heldHere.get(target) === this) heldHere.delete(target)
    if (this.lost) return

    if (this.whyNotHeld()) {
      // superseded: forget our lock without removing the successor's
      if (!heldHere.has(target)) await (await properLockfile()).unlock(target, {realpath: false, fs: {rmdir: (_path: string, done: () => void) => done()}}).catch(() => undefined)
      return
    }

    await unlink(holderFile(this.dir)).catch(() => undefined)
    await this.releaseLock().catch(() => undefined)
  }

  compromise(cause: Error): void {
    if (this.released || this.lost) return
    this.lost = this.lostError(errorMessage(cause))
    for (const listener of this.listeners) listener(this.lost)
  }

  /** null while we hold the lock; otherwise why not */
  private whyNotHeld(): string | null {
    let lockDir
    try {
      lockDir = statSync(lockDirOf(this.dir))
    } catch {
      return 'its lock directory is gone'
    }

    if (lockDir.ino !== this.lockDirIno) return 'another process took it over'
    if (lockDir.mtimeMs < Date.now() - this.staleMs) return 'this process missed its heartbeat'
    let current: Holder | null
    try {
      current = JSON.parse(readFileSync(holderFile(this.dir), 'utf8')) as Holder
    } catch {
      return 'its holder file is gone'
    }

    if (current.epoch !== this.holder.epoch) return `another process holds it now (epoch ${current.epoch})`
    return null
  }

  private lostError(reason: string): GrayError {
    return new LockedError(`${this.service} is no longer driven by this process (${reason}); nothing more was written, see \`gray status\``)
  }
}

/** proper-lockfile, loaded only by the commands that take the lock (status never does) */
const properLockfile = () => import('proper-lockfile').then((m) => m.default)

async function tryLock(target: string, options: FileLockOptions): Promise<(() => Promise<void>) | null> {
  try {
    return await (await properLockfile()).lock(target, {...options, retries: 0})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return null
    throw new GrayError(`could not lock ${target}: ${errorMessage(error)}`, {cause: error})
  }
}

/**
 * The holder has stopped. On this machine with its process gone, its lock is
 * removed and taken at once; otherwise wait until proper-lockfile finds it stale,
 * unless someone alive takes it first. `takeover`, when set, must be called once
 * the new holder file is written.
 */
async function takeDeadLock(
  dir: string,
  service: string,
  target: string,
  options: FileLockOptions,
  waitMs: number,
  staleMs: number,
): Promise<{release: () => Promise<void>; takeover: (() => Promise<void>) | null}> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const release = await tryLock(target, options)
    if (release) return {release, takeover: null}
    const state = await readHolder(dir, {staleMs})
    if (state?.alive) throw lockedError(service, dir, state.holder)
    if (state && goneHere(state.holder)) {
      const taken = await replaceDeadHere(dir, target, options, state.holder, staleMs)
      if (taken) return taken
    }
    if (Date.now() >= deadline) throw lockedError(service, dir, state?.holder)
    await new Promise((done) => setTimeout(done, RETRY_EVERY_MS))
  }
}

/**
 * Removes the lock of `dead` (a holder of this machine whose process is gone) and takes
 * it, under the takeover mutex, after checking again that the lock directory is still
 * the one `dead` made. null when another successor is at it, or got there first.
 */
async function replaceDeadHere(
  dir: string,
  target: string,
  options: FileLockOptions,
  dead: Holder,
  staleMs: number,
): Promise<{release: () => Promise<void>; takeover: () => Promise<void>} | null> {
  const mutex = takeoverDir(dir)
  try {
    await mkdir(mutex)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new GrayError(`could not take over ${target}: ${errorMessage(error)}`, {cause: error})
    // a successor that died while taking over leaves its mutex: old enough, it is cleared
    const since = await stat(mutex).then((s) => s.mtimeMs, () => Date.now())
    if (since < Date.now() - staleMs) await rmdir(mutex).catch(() => undefined)
    return null
  }
  const done = () => rmdir(mutex).catch(() => undefined)
  try {
    const current = await readHolderFile(dir)
    const lockIno = await stat(lockDirOf(dir)).then((s) => s.ino, () => null)
    const replaced = await readPrivateFile(replacedFile(dir), 1024).then((b) => b.toString('utf8').trim(), () => '')
    const same =
      current &&
      current.epoch === dead.epoch &&
      current.pid === dead.pid &&
      (current.lockIno === undefined || current.lockIno === lockIno) &&
      replaced !== replacedMark(current)
    if (!same || !goneHere(current)) {
      await done()
      return null
    }
    if (lockIno !== null) {
      // marked first: once the dead one's directory is gone, no replacer removes a directory again for it
      await writeAtomic(replacedFile(dir), `${replacedMark(current)}\n`)
      await rmdir(lockDirOf(dir)).catch(() => undefined)
    }
    const release = await tryLock(target, options)
    if (!release) {
      await done()
      return null
    }
    return {release, takeover: done}
  } catch (error) {
    await done()
    throw error
  }
}

function lockedError(service: string, dir: string, holder: Holder | undefined): LockedError {
  if (!holder) {
    return new LockedError(`${service} is driven by another gray process; wait for it, or if none runs remove ${lockDirOf(dir)} and retry`)
  }

  return new LockedError(
    `${service} is driven by ${actorName(holder)} since ${clockTime(holder.since)}; wait for it, or stop it and retry`,
  )
}

function clockTime(iso: string): string {
  const time = new Date(iso)
  if (Number.isNaN(time.getTime())) return iso
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString()
  const sameDay = Date.now() - time.getTime() < 12 * 3600_000
  return sameDay ? local.slice(11, 19) : `${local.slice(0, 10)} ${local.slice(11, 19)}`
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readHolderFile(dir: string): Promise<Holder | null> {
  try {
    const value = JSON.parse((await readPrivateFile(holderFile(dir), 64 * 1024)).toString('utf8')) as Partial<Holder>
    if (typeof value.pid !== 'number' || typeof value.epoch !== 'number' || typeof value.host !== 'string') return null
    return value as Holder
  } catch {
    return null
  }
}

async function readEpoch(dir: string): Promise<number> {
  try {
    const epoch = Number.parseInt((await readPrivateFile(epochFile(dir), 1024)).toString('utf8'), 10)
    return Number.isFinite(epoch) ? epoch : 0
  } catch {
    return 0
  }
}
