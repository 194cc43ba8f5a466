// Requests from other terminals (`gray rollback`, `promote`, `pause`, `resume`) to the
// live driver: one JSON file each in `<service dir>/inbox/`, read oldest first and removed only
// once the driver has journaled it (peek, journal, ack), so a driver killed in between loses none.
import {randomBytes} from 'node:crypto'
import {watch, type FSWatcher} from 'node:fs'
import {readdir, rename, unlink} from 'node:fs/promises'
import {join} from 'node:path'

import type {Actor, ControlRequest, Inbox, RequestKind} from '../core/ports.js'
import {ConfigError} from '../core/errors.js'
import {hasControls} from '../core/redact.js'
import {ensurePrivateDir, readPrivateFile, writeAtomic} from './files.js'
import {lazyDebug} from './debug-log.js'

const debug = lazyDebug('gray:inbox')

export type NewRequest = Omit<ControlRequest, 'id' | 'at'> & {id?: string; at?: string}

const KINDS: readonly RequestKind[] = ['rollback', 'promote', 'pause', 'resume']
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/
const DEFAULT_POLL_MS = 200

export const inboxDir = (serviceDir: string) => join(serviceDir, 'inbox')
const rejectedDir = (serviceDir: string) => join(inboxDir(serviceDir), 'rejected')

/** Leaves a request for the driver of the service whose state lives in `serviceDir`. */
export async function postRequest(serviceDir: string, request: NewRequest): Promise<ControlRequest> {
  const posted = completeRequest(request)
  await ensurePrivateDir(inboxDir(serviceDir))
  await writeAtomic(join(inboxDir(serviceDir), requestFileName(posted)), JSON.stringify(posted) + '\n')
  return posted
}

/** gives the request its id and time when missing, and checks it; ConfigError when it is not one gray would take */
export function completeRequest(request: NewRequest): ControlRequest {
  const posted: ControlRequest = {
    ...request,
    id: request.id ?? randomBytes(4).toString('hex'),
    at: request.at ?? new Date().toISOString(),
  }
  if (!SAFE_ID.test(posted.id)) throw new ConfigError(`request id "${posted.id}" may only hold letters, digits, - and _`)
  const problem = whyInvalid(posted)
  if (problem) throw new ConfigError(`cannot post this request: ${problem}`)
  return posted
}

/** Whether a posted request still waits in the inbox, not yet journaled by a driver. */
export async function requestWaiting(serviceDir: string, request: ControlRequest): Promise<boolean> {
  const names = await readdir(inboxDir(serviceDir)).catch(() => [] as string[])
  return names.includes(requestFileName(request))
}

/** 2026-11-22T03:45:00.123Z and id ab12 → 20261122T034500123Z-ab12.json, so names sort by time */
function requestFileName(request: Pick<ControlRequest, 'at' | 'id'>): string {
  return `${compactTime(request.at)}-${request.id}.json`
}

export class FileInbox implements Inbox {
  private readonly dir: string

  constructor(
    private readonly serviceDir: string,
    private readonly options: {pollMs?: number} = {},
  ) {
    this.dir = inboxDir(serviceDir)
  }

  /**
   * Requests still waiting, oldest first; nothing is removed, so a driver that dies before it has
   * journaled them leaves them to its successor. A malformed file is moved aside to rejected/.
   * Reads in this process run one at a time.
   */
  peek(): Promise<ControlRequest[]> {
    return this.serially(() => this.peekNow())
  }

  /** Removes requests once their driver has journaled them; one already gone is no error. */
  ack(requests: readonly ControlRequest[]): Promise<void> {
    return this.serially(async () => {
      for (const request of requests) await unlink(join(this.dir, requestFileName(request))).catch(() => undefined)
    })
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work)
    this.queue = run.catch(() => undefined)
    return run
  }

  private queue: Promise<unknown> = Promise.resolve()

  private async peekNow(): Promise<ControlRequest[]> {
    const waiting: {name: string; request: ControlRequest}[] = []
    for (const name of await this.pending()) {
      const file = join(this.dir, name)
      let text: string | null
      try {
        text = (await readPrivateFile(file, MAX_REQUEST_BYTES)).toString('utf8')
      } catch (error) {
        // taken meanwhile (acked by another process, or moved aside)
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        text = null
      }
      const request = text === null ? null : parseRequest(text)
      // a file whose name is not its request's could never be acked: it is not gray's either
      if (!request || requestFileName(request) !== name) {
        await this.reject(file, name)
        continue
      }
      waiting.push({name, request})
    }
    waiting.sort((a, b) => Date.parse(a.request.at) - Date.parse(b.request.at) || a.name.localeCompare(b.name))
    return waiting.map(({request}) => request)
  }

  /** calls listener when a request may have arrived; fs.watch wakes it at once, polling covers file systems where watching fails */
  onArrival(listener: () => void): () => void {
    let seen = new Set<string>()
    let polling = false
    const notify = () => {
      try {
        listener()
      } catch (error) {
        debug('arrival listener failed: %O', error)
      }
    }

    let watcher: FSWatcher | undefined
    try {
      watcher = watch(this.dir, (_event, name) => {
        if (name && !isRequestFile(name.toString())) return
        if (name) seen.add(name.toString())
        notify()
      })
      watcher.on('error', (error) => debug('inbox watch failed, polling only: %O', error))
      watcher.unref()
    } catch (error) {
      debug('inbox watch unavailable, polling only: %O', error)
    }

    const poll = setInterval(async () => {
      if (polling) return
      polling = true
      try {
        const names = await this.pending()
        const arrived = names.some((name) => !seen.has(name))
        seen = new Set(names)
        if (arrived) notify()
      } catch (error) {
        debug('inbox poll failed: %O', error)
      } finally {
        polling = false
      }
    }, this.options.pollMs ?? DEFAULT_POLL_MS)
    poll.unref()

    return () => {
      clearInterval(poll)
      watcher?.close()
    }
  }

  private async pending(): Promise<string[]> {
    try {
      return (await readdir(this.dir, {withFileTypes: true}))
        .filter((entry) => entry.isFile() && isRequestFile(entry.name))
        .map((entry) => entry.name)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
  }

  /** a request gray would not have written: kept aside in rejected/, never journaled or printed */
  private async reject(file: string, name: string): Promise<void> {
    debug('rejecting malformed request %s', name)
    await ensurePrivateDir(rejectedDir(this.serviceDir))
    await rename(file, join(rejectedDir(this.serviceDir), name)).catch(() => unlink(file).catch(() => undefined))
  }
}

function isRequestFile(name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('.')
}

/** 2026-11-22T03:45:00.123Z → 20261122T034500123Z, so names sort by time */
function compactTime(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:.]/g, '')
}

export function parseRequest(text: string): ControlRequest | null {
  try {
    const value: unknown = JSON.parse(text)
    return whyInvalid(value) ? null : (value as ControlRequest)
  } catch {
    return null
  }
}

/** a request's reason is a sentence for people: this long at most */
export const MAX_REASON = 500
/** a request file is a few hundred bytes; a bigger one is not gray's */
const MAX_REQUEST_BYTES = 16 * 1024
const REQUEST_KEYS = new Set(['id', 'kind', 'runId', 'reason', 'full', 'actor', 'at'])
const ACTOR_KEYS = new Set(['user', 'host', 'pid', 'ci'])
/** user names as systems write them: no spaces, no controls, no markup */
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.@\\$-]{0,63}$/
/** host names (RFC 1123 labels) */
const HOST = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/
/** an hour of clock skew between terminals is plenty; a request from further in the future is forged */
const MAX_FUTURE_MS = 60 * 60_000

/**
 * Why a request is not one gray would have written, or null. Every field is
 * checked, because the driver journals it and terminals print it: an actor of
 * the form gray writes (user@host, pid, ci), a short reason without control
 * characters, a known kind, an id and time gray could have made.
 */
export function whyInvalid(value: unknown): string | null {
  if (!isRecord(value)) return 'not a JSON object'
  const unknown = Object.keys(value).filter((k) => !REQUEST_KEYS.has(k))
  if (unknown.length > 0) return `unknown field ${unknown[0]}`
  const {id, kind, runId, reason, full, actor, at} = value
  if (typeof id !== 'string' || !SAFE_ID.test(id)) return 'id must be 1 to 64 letters, digits, - or _'
  if (!KINDS.includes(kind as RequestKind)) return `kind must be one of ${KINDS.join(', ')}`
  if (runId !== undefined && (typeof runId !== 'string' || !SAFE_ID.test(runId))) return 'runId must be 1 to 64 letters, digits, - or _'
  if (reason !== undefined) {
    if (typeof reason !== 'string') return 'reason must be text'
    if (reason.length > MAX_REASON) return `reason must be at most ${MAX_REASON} characters`
    const problem = reasonProblem(reason)
    if (problem) return problem
  }
  if (full !== undefined && typeof full !== 'boolean') return 'full must be true or false'
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return 'at must be an ISO time'
  if (Date.parse(at) > Date.now() + MAX_FUTURE_MS) return 'at must not be in the future'
  const actorProblem = whyBadActor(actor)
  if (actorProblem) return actorProblem
  return null
}

/** why a request's reason cannot be journaled and printed as given, or null */
export function reasonProblem(reason: string): string | null {
  if (reason.length > MAX_REASON) return `reason must be at most ${MAX_REASON} characters`
  if (hasControls(reason) || reason.includes('\n') || reason.includes('\t')) return 'reason must be one line without control characters (escapes, bidi overrides)'
  return null
}

function whyBadActor(value: unknown): string | null {
  if (!isRecord(value) || Object.keys(value).some((k) => !ACTOR_KEYS.has(k))) return 'actor must name user, host, pid and ci, and nothing else'
  const {user, host, pid, ci} = value as Partial<Actor>
  if (typeof user !== 'string' || !USER.test(user)) return 'actor.user must be a user name (letters, digits, _ . @ - $ \\, at most 64)'
  if (typeof host !== 'string' || host.length > 253 || !HOST.test(host)) return 'actor.host must be a host name'
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1 || pid > 2 ** 31) return 'actor.pid must be a process id'
  if (typeof ci !== 'boolean') return 'actor.ci must be true or false'
  return null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
