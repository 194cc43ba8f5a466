// The `local` state backend: today's journal directory behind the StateBackend
// port. It wraps journal.ts (fsynced NDJSON, one file per run), lock.ts (the
// driver lock: proper-lockfile heartbeat + holder.json epoch), inbox.ts (one
// file per request) and store.ts (the layout) without changing what they write.
import {EventEmitter} from 'node:events'
import {watch, type FSWatcher} from 'node:fs'
import {stat} from 'node:fs/promises'
import {resolve} from 'node:path'
import {performance} from 'node:perf_hooks'

import type {Actor, ControlRequest, JournalEvent} from '../core/ports.js'
import {LockedError} from '../core/errors.js'
import {announceLocalAgent, liveLocalAgents} from './agents-local.js'
import type {AgentAnnouncement, AgentPresence, AppendOptions, ImportOutcome, Lease, LeaseHolder, LeaseOptions, LeaseState, NewEvent, NewRequest, Notice, StateBackend} from './backend.js'
import {actorOf, sameRun} from './events.js'
import {writeAtomic} from './files.js'
import {FileInbox, postRequest, requestWaiting} from './inbox.js'
import {JournalFile, readJournal} from './journal.js'
import {acquireLock, readHolder, type Lock} from './lock.js'
import {ServiceStore} from './store.js'
import {lazyDebug} from './debug-log.js'

const debug = lazyDebug('gray:state:local')
const POLL_MS = 250

/** same-process subscribers hear of an append at once, before fs.watch does */
const local = new EventEmitter().setMaxListeners(0)

export class LocalBackend implements StateBackend {
  readonly kind = 'local' as const
  readonly where: string
  private readonly journals = new Map<string, {journal: JournalFile; lease: Lease}>()

  constructor(readonly stateDir: string) {
    this.where = resolve(stateDir)
  }

  private store(service: string): ServiceStore {
    return new ServiceStore(this.stateDir, service)
  }

  async createRun(service: string, runId: string, lease: Lease, first: NewEvent): Promise<JournalEvent> {
    const store = this.store(service)
    await store.ensureDirs()
    const journal = await JournalFile.create(store.runPath(runId), first.type, first.data, {actor: actorOf(lease.holder), guard: () => lease.assertHeld()})
    this.remember(service, runId, journal, lease)
    const event = journal.events()[0] as JournalEvent
    this.announce({kind: 'event', service, runId, seq: event.seq})
    return event
  }

  async append(service: string, runId: string, lease: Lease, events: NewEvent[], options: AppendOptions = {}): Promise<JournalEvent[]> {
    lease.assertHeld()
    const journal = await this.journal(service, runId, lease)
    const next = (journal.events().at(-1)?.seq ?? 0) + 1
    if (options.expectSeq !== undefined && options.expectSeq !== next) {
      throw new LockedError(`run ${runId} of ${service} is at seq ${next - 1}, not ${options.expectSeq - 1}: another writer moved it on; nothing was written`)
    }
    const written = await journal.appendAll(events)
    const last = written.at(-1)
    if (last) this.announce({kind: 'event', service, runId, seq: last.seq})
    return written
  }

  async readEvents(service: string, runId: string, fromSeq = 1): Promise<JournalEvent[]> {
    const {events} = await readJournal(this.store(service).runPath(runId))
    return fromSeq <= 1 ? events : events.filter((e) => e.seq >= fromSeq)
  }

  listRuns(service: string): Promise<string[]> {
    return this.store(service).listRuns()
  }

  currentRun(service: string): Promise<string | null> {
    return this.store(service).latestRun()
  }

  async importRun(service: string, runId: string, events: JournalEvent[]): Promise<ImportOutcome> {
    const store = this.store(service)
    const path = store.runPath(runId)
    const existing = await readJournal(path).then(
      (r) => r.events,
      () => null,
    )
    if (existing) return sameRun(existing, events, runId)
    await store.ensureDirs()
    try {
      await writeAtomic(path, events.map((e) => JSON.stringify(e) + '\n').join(''), {durable: true, exclusive: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return sameRun((await readJournal(path)).events, events, runId)
      throw error
    }
    return 'imported'
  }

  async acquireLease(service: string, holder: LeaseHolder, options: LeaseOptions): Promise<Lease> {
    const store = this.store(service)
    // the TTL rides in holder.json so readers (`status`) judge the heartbeat by the holder's own limit
    const lock = await acquireLock(store.dir, {
      actor: {...holder, ttlMs: options.ttlMs} as Actor,
      staleMs: options.ttlMs,
      updateMs: options.heartbeatMs ?? Math.max(1000, Math.floor(options.ttlMs / 3)),
      waitForDeadMs: options.waitMs ?? 0,
      service,
    })
    return new LocalLease(service, lock, holder, options.ttlMs)
  }

  async readLease(service: string): Promise<LeaseState | null> {
    const dir = this.store(service).dir
    const first = await readHolder(dir)
    if (!first) return null
    const ttlMs = (first.holder as {ttlMs?: unknown}).ttlMs
    const state = typeof ttlMs === 'number' ? await readHolder(dir, {staleMs: ttlMs}) : first
    if (!state) return null
    const {since, epoch, ttlMs: _ttl, ...holder} = state.holder as typeof state.holder & {ttlMs?: number; kind?: LeaseHolder['kind']}
    return {holder: {...holder, kind: holder.kind ?? 'cli'}, epoch, alive: state.alive, ...(state.heartbeatAt ? {heartbeatAt: state.heartbeatAt} : {}), ...(since ? {since} : {})}
  }

  postRequest(service: string, request: NewRequest): Promise<ControlRequest> {
    const posted = postRequest(this.store(service).dir, request)
    void posted.then(() => this.announce({kind: 'request', service}), () => undefined)
    return posted
  }

  peekRequests(service: string): Promise<ControlRequest[]> {
    return this.inbox(service).peek()
  }

  ackRequests(service: string, requests: readonly ControlRequest[]): Promise<void> {
    return this.inbox(service).ack(requests)
  }

  /** one per service, so this process's reads and acks of an inbox run one at a time */
  private inbox(service: string): FileInbox {
    let inbox = this.inboxes.get(service)
    if (!inbox) this.inboxes.set(service, (inbox = new FileInbox(this.store(service).dir)))
    return inbox
  }

  private readonly inboxes = new Map<string, FileInbox>()

  requestWaiting(service: string, request: ControlRequest): Promise<boolean> {
    return requestWaiting(this.store(service).dir, request)
  }

  announceAgent(holder: LeaseHolder, services: string[], ttlMs: number): Promise<AgentAnnouncement> {
    return announceLocalAgent(this.stateDir, holder, services, ttlMs)
  }

  liveAgents(service: string): Promise<AgentPresence[]> {
    return liveLocalAgents(this.stateDir, service)
  }

  async subscribe(service: string, listener: (notice: Notice) => void): Promise<() => Promise<void>> {
    const store = this.store(service)
    const tell = (notice: Notice) => {
      try {
        listener(notice)
      } catch (error) {
        debug('subscriber failed: %O', error)
      }
    }
    const key = channel(this.where, service)
    local.on(key, tell)
    const stopInbox = new FileInbox(store.dir).onArrival(() => tell({kind: 'request', service}))
    const stopRuns = watchRuns(store, (runId) => tell({kind: 'event', service, runId, seq: 0}))
    return async () => {
      local.off(key, tell)
      stopInbox()
      stopRuns()
    }
  }

  async close(): Promise<void> {
    const open = [...this.journals.values()]
    this.journals.clear()
    await Promise.all(open.map(({journal}) => journal.close()))
  }

  private async journal(service: string, runId: string, lease: Lease): Promise<JournalFile> {
    const key = `${service}/${runId}`
    const known = this.journals.get(key)
    // a new lease means a new writer: read the file afresh, it may have moved on under the old one
    if (known && known.lease === lease) return known.journal
    if (known) await known.journal.close()
    const journal = await JournalFile.open(this.store(service).runPath(runId), {actor: actorOf(lease.holder), create: false, guard: () => lease.assertHeld()})
    this.remember(service, runId, journal, lease)
    return journal
  }

  private remember(service: string, runId: string, journal: JournalFile, lease: Lease): void {
    this.journals.set(`${service}/${runId}`, {journal, lease})
  }

  private announce(notice: Notice): void {
    local.emit(channel(this.where, notice.service), notice)
  }
}

class LocalLease implements Lease {
  private lost: LockedError | null = null
  private readonly listeners = new Set<(error: Error) => void>()
  private lastTick = performance.now()
  private readonly watchdog: NodeJS.Timeout

  constructor(
    readonly service: string,
    private readonly lock: Lock,
    readonly holder: LeaseHolder,
    readonly ttlMs: number,
  ) {
    // proper-lockfile resumes its heartbeat after a freeze as if nothing happened when nobody took
    // the lock meanwhile; a holder stopped for longer than the TTL has lapsed all the same (as in postgres)
    const every = Math.max(100, Math.min(1000, Math.floor(ttlMs / 4)))
    this.watchdog = setInterval(() => {
      const now = performance.now()
      if (now - this.lastTick > ttlMs) this.lose(`this process was stopped for ${Math.round(now - this.lastTick)} ms, longer than the lease's ${ttlMs} ms`)
      this.lastTick = now
    }, every)
    this.watchdog.unref()
    lock.onCompromised((error) => this.lose(error.message))
  }

  get epoch(): number {
    return this.lock.epoch
  }

  get takenOverFrom(): (LeaseHolder & {epoch: number}) | undefined {
    const from = this.lock.takenOverFrom as (LeaseHolder & {epoch: number; since?: string; ttlMs?: number}) | undefined
    if (!from) return undefined
    const {since: _since, ttlMs: _ttl, ...holder} = from
    return {...holder, kind: holder.kind ?? 'cli'}
  }

  /** proper-lockfile refreshes the heartbeat by itself; renewing proves it still does */
  async renew(): Promise<void> {
    this.assertHeld()
  }

  async release(): Promise<void> {
    clearInterval(this.watchdog)
    await this.lock.release()
  }

  assertHeld(): void {
    if (this.lost) throw this.lost
    const gap = performance.now() - this.lastTick
    if (gap > this.ttlMs) this.lose(`this process was stopped for ${Math.round(gap)} ms, longer than the lease's ${this.ttlMs} ms`)
    if (this.lost) throw this.lost
    this.lock.assertHeld()
  }

  onLost(listener: (error: Error) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private lose(reason: string): void {
    if (this.lost) return
    this.lost = new LockedError(`${this.service} is no longer driven by this process (${reason}); nothing more was written, see \`gray status\``)
    clearInterval(this.watchdog)
    // give the lock up, so the next driver need not wait for it to go stale again
    void this.lock.release().catch(() => undefined)
    for (const listener of this.listeners) listener(this.lost)
  }
}

const channel = (where: string, service: string) => `${where}\0${service}`

/** calls onChange(runId) when a journal in the service's runs dir grows: fs.watch at once, a poll where watching fails */
function watchRuns(store: ServiceStore, onChange: (runId: string) => void): () => void {
  const sizes = new Map<string, number>()
  let watcher: FSWatcher | undefined
  let stopped = false
  const startWatch = () => {
    if (watcher || stopped) return
    try {
      watcher = watch(store.runsDir, (_event, name) => {
        const file = name?.toString() ?? ''
        if (file.endsWith('.ndjson') && !file.startsWith('.')) onChange(file.slice(0, -'.ndjson'.length))
      })
      watcher.on('error', () => {
        watcher?.close()
        watcher = undefined
      })
      watcher.unref()
    } catch {
      watcher = undefined
    }
  }
  startWatch()

  let polling = false
  let primed = false
  const poll = setInterval(async () => {
    if (polling) return
    polling = true
    try {
      startWatch()
      for (const id of await store.listRuns()) {
        const size = await stat(store.runPath(id)).then((s) => s.size, () => 0)
        const before = sizes.get(id)
        sizes.set(id, size)
        if (primed && before !== size) onChange(id)
      }
      primed = true
    } catch (error) {
      debug('runs poll failed: %O', error)
    } finally {
      polling = false
    }
  }, POLL_MS)
  poll.unref()

  return () => {
    stopped = true
    clearInterval(poll)
    watcher?.close()
  }
}
