// The one conformance suite every state backend passes (test/integration/state/
// local.test.ts and postgres.test.ts call it): the same semantics, proven the
// same way. Second writers are real processes (./worker.ts), so leases, fencing
// and notifications cross a process boundary as they do between gray processes.
import {spawn, type ChildProcess} from 'node:child_process'
import {hostname} from 'node:os'
import {resolve} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'

import type {ControlRequest, JournalEvent} from '../../../src/core/ports.js'
import {openBackend, type Lease, type LeaseHolder, type Notice, type StateBackend, type StateConfig} from '../../../src/state/backend.js'
import {newRunId} from '../../../src/state/store.js'

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const WORKER = resolve(repo, 'test/integration/state/worker.ts')
/** the shortest TTL both backends accept (proper-lockfile's minimum staleness) */
export const TTL_MS = 2000
/** budgets for conditions on a loaded machine: generous, never a timing claim */
const WAIT_MS = 30_000

export const me = (kind: LeaseHolder['kind'] = 'cli'): LeaseHolder => ({user: 'tester', host: hostname(), pid: process.pid, ci: false, kind})
const actor = {user: 'tester', host: hostname(), pid: process.pid, ci: false}

interface Answer {
  ok: boolean
  result?: unknown
  name?: string
  message?: string
  exitCode?: number | null
}

/** a second process with its own backend on the same state */
export class Worker {
  readonly child: ChildProcess
  private readonly answers: Answer[] = []
  private waiting: Array<(a: Answer) => void> = []
  private readonly ready: Promise<void>
  /** rejects once the worker exits, so no wait outlives it */
  private readonly gone: Promise<never>
  private stderr = ''

  constructor(state: StateConfig) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(state)], {cwd: repo, stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.gone = new Promise<never>((_, reject) => this.child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${this.stderr}`))))
    this.gone.catch(() => undefined)
    const lines = createInterface({input: this.child.stdout!})
    let started: () => void
    this.ready = new Promise<void>((done) => (started = done))
    lines.on('line', (line) => {
      const value = JSON.parse(line) as Answer & {ready?: boolean}
      if (value.ready) return started()
      const next = this.waiting.shift()
      if (next) next(value)
      else this.answers.push(value)
    })
  }

  get pid(): number {
    return this.child.pid as number
  }

  async send(command: Record<string, unknown>): Promise<Answer> {
    await Promise.race([this.ready, this.gone])
    this.child.stdin!.write(JSON.stringify(command) + '\n')
    const queued = this.answers.shift()
    if (queued) return queued
    return Promise.race([new Promise<Answer>((done) => this.waiting.push(done)), this.gone])
  }

  async whenReady(): Promise<void> {
    await Promise.race([this.ready, this.gone])
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name)
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGCONT')
    this.child.kill('SIGKILL')
    await new Promise((done) => this.child.once('exit', done))
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, budgetMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + budgetMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}

export function seqs(events: readonly JournalEvent[]): number[] {
  return events.map((e) => e.seq)
}

export const oneTo = (n: number) => Array.from({length: n}, (_, i) => i + 1)

/**
 * Runs the suite. `fresh` gives a new, empty state (a directory, a database)
 * for each test, so no test sees another's runs, leases or requests.
 */
export function conformance(name: string, fresh: () => Promise<StateConfig>): void {
  describe(`state backend conformance: ${name}`, () => {
    const opened: StateBackend[] = []
    const workers: Worker[] = []
    const leases: Lease[] = []

    const open = async (state: StateConfig) => {
      const backend = await openBackend(state)
      opened.push(backend)
      return backend
    }
    const worker = async (state: StateConfig) => {
      const w = new Worker(state)
      workers.push(w)
      await w.whenReady()
      return w
    }
    const take = async (backend: StateBackend, service: string, holder = me()) => {
      const lease = await backend.acquireLease(service, holder, {ttlMs: TTL_MS})
      leases.push(lease)
      return lease
    }

    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()))
      await Promise.all(leases.splice(0).map((l) => l.release().catch(() => undefined)))
      await Promise.all(opened.splice(0).map((b) => b.close()))
    })

    it('appends with gap-free seq, concurrent appends included, and never rewrites what was written', async () => {
      const state = await fresh()
      const backend = await open(state)
      const lease = await take(backend, 'shop')
      const runId = newRunId()
      const first = await backend.createRun('shop', runId, lease, {type: 'run.started', data: {version: 'v2'}})
      expect(first.seq).toBe(1)

      const single = Array.from({length: 30}, (_, i) => backend.append('shop', runId, lease, [{type: 'step', data: {i}}]))
      const batch = backend.append('shop', runId, lease, [
        {type: 'batch', data: {n: 1}},
        {type: 'batch', data: {n: 2}},
        {type: 'batch', data: {n: 3}},
      ])
      const written = [...(await Promise.all(single)).flat(), ...(await batch)]
      const batchSeqs = seqs(await batch)
      expect(batchSeqs[1]).toBe((batchSeqs[0] as number) + 1)
      expect(batchSeqs[2]).toBe((batchSeqs[0] as number) + 2)

      const events = await (await open(state)).readEvents('shop', runId)
      expect(seqs(events)).toEqual(oneTo(34))
      expect(events[0]).toEqual(first)
      for (const w of written) expect(events[w.seq - 1]).toEqual(w)
      expect(new Set(events.filter((e) => e.type === 'step').map((e) => e.data.i)).size).toBe(30)

      expect(seqs(await backend.readEvents('shop', runId, 30))).toEqual([30, 31, 32, 33, 34])
      await expect(backend.append('shop', runId, lease, [{type: 'late', data: {}}], {expectSeq: 10})).rejects.toMatchObject({exitCode: 5})
      expect(seqs(await backend.append('shop', runId, lease, [{type: 'next', data: {}}], {expectSeq: 35}))).toEqual([35])
      await expect(backend.readEvents('shop', 'no-such-run')).rejects.toThrow(/no-such-run/)
      await expect(backend.append('shop', 'no-such-run', lease, [{type: 'x', data: {}}])).rejects.toThrow()
      expect(seqs(await backend.readEvents('shop', runId))).toEqual(oneTo(35))
    })

    it('takes a lapsed lease over only after its TTL, and refuses the deposed writer (fencing)', async () => {
      const state = await fresh()
      const backend = await open(state)
      const old = await worker(state)
      const runId = newRunId()
      const taken = await old.send({op: 'acquire', service: 'shop', ttlMs: TTL_MS})
      expect(taken).toMatchObject({ok: true})
      const oldEpoch = (taken.result as {epoch: number}).epoch
      expect(await old.send({op: 'create', service: 'shop', runId})).toMatchObject({ok: true})
      expect(await old.send({op: 'append', service: 'shop', runId})).toMatchObject({ok: true})
      expect(await backend.readLease('shop')).toMatchObject({alive: true, epoch: oldEpoch, holder: {pid: old.pid, kind: 'agent'}})

      // renew works while held
      expect(await old.send({op: 'renew'})).toMatchObject({ok: true})

      // the holder stops heartbeating (alive but frozen): not taken before its TTL
      old.signal('SIGSTOP')
      await expect(backend.acquireLease('shop', me(), {ttlMs: TTL_MS})).rejects.toMatchObject({exitCode: 5})

      await waitFor('the frozen holder to lapse', async () => (await backend.readLease('shop'))?.alive === false)
      const lease = await take(backend, 'shop')
      expect(lease.epoch).toBeGreaterThan(oldEpoch)
      expect(lease.takenOverFrom).toMatchObject({pid: old.pid, epoch: oldEpoch})
      expect(seqs(await backend.append('shop', runId, lease, [{type: 'taken.over', data: {}}]))).toEqual([3])

      // the deposed writer wakes: its append and its renew are refused, nothing of it is written
      old.signal('SIGCONT')
      const refused = await old.send({op: 'append', service: 'shop', runId, type: 'deposed.write'})
      expect(refused).toMatchObject({ok: false, exitCode: 5})
      expect(await old.send({op: 'renew'})).toMatchObject({ok: false, exitCode: 5})

      const events = await backend.readEvents('shop', runId)
      expect(seqs(events)).toEqual([1, 2, 3])
      expect(events.some((e) => e.type === 'deposed.write')).toBe(false)
      expect(await backend.readLease('shop')).toMatchObject({alive: true, epoch: lease.epoch, holder: {pid: process.pid}})

      // released: taken again at once, with a higher epoch
      await lease.release()
      const again = await take(backend, 'shop')
      expect(again.epoch).toBeGreaterThan(lease.epoch)
      await lease.renew().then(
        () => expect.fail('a released lease renewed'),
        (error: {exitCode?: number}) => expect(error.exitCode).toBe(5),
      )
    })

    it('refuses a holder frozen past its TTL even when nobody took its lease over', async () => {
      const state = await fresh()
      const backend = await open(state)
      const frozen = await worker(state)
      const runId = newRunId()
      expect(await frozen.send({op: 'acquire', service: 'shop', ttlMs: TTL_MS})).toMatchObject({ok: true})
      expect(await frozen.send({op: 'create', service: 'shop', runId})).toMatchObject({ok: true})
      frozen.signal('SIGSTOP')
      await waitFor('the frozen holder to lapse', async () => (await backend.readLease('shop'))?.alive === false)
      frozen.signal('SIGCONT')
      expect(await frozen.send({op: 'append', service: 'shop', runId, type: 'late.write'})).toMatchObject({ok: false, exitCode: 5})
      expect(seqs(await backend.readEvents('shop', runId))).toEqual([1])
    })

    it('lets exactly one of several processes racing for a lease win', async () => {
      const state = await fresh()
      const racers = await Promise.all([1, 2, 3, 4].map(() => worker(state)))
      const answers = await Promise.all(racers.map((r) => r.send({op: 'acquire', service: 'race', ttlMs: 10_000})))
      expect(answers.filter((a) => a.ok)).toHaveLength(1)
      for (const lost of answers.filter((a) => !a.ok)) expect(lost.exitCode).toBe(5)
      const winner = racers[answers.findIndex((a) => a.ok)] as Worker
      expect(await (await open(state)).readLease('race')).toMatchObject({alive: true, holder: {pid: winner.pid}})
    })

    it('keeps each request until it is acked, oldest first, whoever reads, and refuses bad ones', async () => {
      const state = await fresh()
      const poster = await open(state)
      await expect(poster.postRequest('shop', {kind: 'explode' as never, actor})).rejects.toMatchObject({exitCode: 2})
      await expect(poster.postRequest('shop', {kind: 'pause', actor: {user: 'x'} as never})).rejects.toMatchObject({exitCode: 2})

      const posted: ControlRequest[] = []
      for (let i = 0; i < 40; i++) {
        posted.push(await poster.postRequest('shop', {kind: i % 2 ? 'pause' : 'resume', reason: `r${i}`, actor, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()}))
      }
      const readers = await Promise.all([1, 2, 3, 4].map(() => open(state)))
      // four readers at once (a dead driver's successor and others): each sees every request, whole, oldest first
      const reads = await Promise.all(readers.map((r) => r.peekRequests('shop')))
      for (const read of reads) expect(read).toEqual(posted)

      // acks from several readers at once, some of the same requests: each leaves once, none comes back
      await Promise.all(readers.map((r, i) => r.ackRequests('shop', posted.slice(i * 8, i * 8 + 12))))
      expect(await poster.peekRequests('shop')).toEqual(posted.slice(36))
      await readers[0]!.ackRequests('shop', posted)
      await readers[1]!.ackRequests('shop', [])
      expect(await poster.peekRequests('shop')).toEqual([])
    })

    it('says whether a posted request still waits, and who holds the lease since when', async () => {
      const backend = await open(await fresh())
      const posted = await backend.postRequest('shop', {kind: 'promote', actor})
      expect(await backend.requestWaiting('shop', posted)).toBe(true)
      expect((await backend.peekRequests('shop')).map((r) => r.id)).toEqual([posted.id])
      // read is not taken: it waits until a driver has journaled it and acks
      expect(await backend.requestWaiting('shop', posted)).toBe(true)
      await backend.ackRequests('shop', [posted])
      expect(await backend.requestWaiting('shop', posted)).toBe(false)

      const before = Date.now()
      const lease = await take(backend, 'shop')
      const seen = await backend.readLease('shop')
      expect(seen).toMatchObject({alive: true, epoch: lease.epoch, holder: {kind: 'cli', pid: process.pid}})
      // the database's clock or this machine's: within a minute of now either way
      expect(Math.abs(Date.parse(seen?.since ?? '') - before)).toBeLessThan(60_000)
    })

    it('lists the runs of a service oldest first and names the current one', async () => {
      const state = await fresh()
      const backend = await open(state)
      expect(await backend.listRuns('shop')).toEqual([])
      expect(await backend.currentRun('shop')).toBeNull()
      const lease = await take(backend, 'shop')
      const ids = [newRunId(Date.UTC(2026, 0, 1)), newRunId(Date.UTC(2026, 0, 3)), newRunId(Date.UTC(2026, 0, 2))]
      for (const id of ids) await backend.createRun('shop', id, lease, {type: 'run.started', data: {id}})
      const other = await take(backend, 'cart')
      await backend.createRun('cart', newRunId(Date.UTC(2027, 0, 1)), other, {type: 'run.started', data: {}})

      const reader = await open(state)
      expect(await reader.listRuns('shop')).toEqual([...ids].sort())
      expect(await reader.currentRun('shop')).toBe(ids[1])
      expect(await reader.listRuns('cart')).toHaveLength(1)
    })

    it('imports a run once: the same events again change nothing, other events are refused', async () => {
      const state = await fresh()
      const backend = await open(state)
      const events: JournalEvent[] = oneTo(5).map((seq) => ({seq, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), actor, type: seq === 1 ? 'run.started' : 'step', data: {seq}}))
      const runId = newRunId(Date.UTC(2026, 0, 1))
      expect(await backend.importRun('shop', runId, events)).toBe('imported')
      expect(await backend.importRun('shop', runId, events)).toBe('identical')
      await expect(backend.importRun('shop', runId, events.slice(0, 3))).rejects.toThrow(/already exists/)
      expect(await backend.readEvents('shop', runId)).toEqual(events)

      // an imported run goes on under a lease like any other
      const lease = await take(backend, 'shop')
      expect(seqs(await backend.append('shop', runId, lease, [{type: 'after', data: {}}]))).toEqual([6])
    })

    it('knows a live agent by its heartbeat: named for its services only, not once frozen past its TTL, gone at once when it stops', async () => {
      const state = await fresh()
      const backend = await open(state)
      expect(await backend.liveAgents('shop')).toEqual([])
      const agent = await worker(state)
      const announced = await agent.send({op: 'announce', services: ['shop', 'cart'], ttlMs: TTL_MS})
      expect(announced).toMatchObject({ok: true})
      const id = (announced.result as {id: string}).id
      const [seen, ...more] = await backend.liveAgents('shop')
      expect(more).toEqual([])
      expect(seen).toMatchObject({id, holder: {kind: 'agent', pid: agent.pid, host: hostname()}, services: ['shop', 'cart']})
      expect(Date.parse(seen?.heartbeatAt ?? '')).toBeGreaterThanOrEqual(Date.parse(seen?.since ?? '') - 1000)
      expect(await backend.liveAgents('cart')).toHaveLength(1)
      expect(await backend.liveAgents('pay')).toEqual([])

      // a second agent on the same state: both are live
      const other = await worker(state)
      expect(await other.send({op: 'announce', services: ['shop'], ttlMs: TTL_MS})).toMatchObject({ok: true})
      expect((await backend.liveAgents('shop')).map((a) => a.holder.pid).sort()).toEqual([agent.pid, other.pid].sort())

      // frozen: its heartbeat stops, and past its TTL it is no longer live; it beats again once it runs
      agent.signal('SIGSTOP')
      await waitFor('the frozen agent to lapse', async () => (await backend.liveAgents('cart')).length === 0)
      expect((await backend.liveAgents('shop')).map((a) => a.holder.pid)).toEqual([other.pid])
      agent.signal('SIGCONT')
      await waitFor('the agent to beat again', async () => (await backend.liveAgents('cart')).length === 1)

      // stopped: gone at once; killed: gone once its TTL has passed (local, on this machine: at once)
      expect(await agent.send({op: 'unannounce'})).toMatchObject({ok: true})
      expect(await backend.liveAgents('cart')).toEqual([])
      await other.stop()
      await waitFor('the killed agent to lapse', async () => (await backend.liveAgents('shop')).length === 0)
    })

    it('wakes a subscriber when another process appends an event or posts a request', async () => {
      const state = await fresh()
      const backend = await open(state)
      const runId = newRunId()
      const other = await worker(state)
      expect(await other.send({op: 'acquire', service: 'shop', ttlMs: 10_000})).toMatchObject({ok: true})
      expect(await other.send({op: 'create', service: 'shop', runId})).toMatchObject({ok: true})

      const notices: Notice[] = []
      const unsubscribe = await backend.subscribe('shop', (n) => notices.push(n))
      expect(await other.send({op: 'append', service: 'shop', runId})).toMatchObject({ok: true})
      await waitFor('an event notice', async () => notices.some((n) => n.kind === 'event' && n.runId === runId))

      expect(await other.send({op: 'post', service: 'shop', kind: 'pause'})).toMatchObject({ok: true})
      await waitFor('a request notice', async () => notices.some((n) => n.kind === 'request'))
      const [request] = await backend.peekRequests('shop')
      expect(request).toMatchObject({kind: 'pause', actor: {pid: other.pid}})
      await unsubscribe()
    })
  })
}
