// Requests from other terminals (`gray rollback`, `promote`, `pause`, `resume`) to the
// live driver: one JSON file each in `<service dir>/inbox/`, taken oldest first.
import {randomBytes} from 'node:crypto'
import {watch, type FSWatcher} from 'node:fs'
import {readFile, readdir, rename, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import createDebug from 'debug'

import type {Actor, ControlRequest, Inbox, RequestKind} from '../core/ports.js'
import {ConfigError} from '../core/errors.js'
import {ensurePrivateDir, writeAtomic} from './files.js'

const debug = createDebug('gray:inbox')

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
  const name = `${compactTime(posted.at)}-${posted.id}.json`
  await writeAtomic(join(inboxDir(serviceDir), name), JSON.stringify(posted) + '\n')
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

export class FileInbox implements Inbox {
  private readonly dir: string

  constructor(
    private readonly serviceDir: string,
    private readonly options: {pollMs?: number} = {},
  ) {
    this.dir = inboxDir(serviceDir)
  }

  /** requests not yet taken, oldest first; each is removed from the inbox as it is returned */
  async take(): Promise<ControlRequest[]> {
    const taken: {name: string; request: ControlRequest}[] = []
    for (const name of await this.pending()) {
      // claim the file by renaming it first: of two takers racing for one request, only one rename succeeds
      const claimed = join(this.dir, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}.taken`)
      try {
        await rename(join(this.dir, name), claimed)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }

      const request = parseRequest(await readFile(claimed, 'utf8').catch(() => ''))
      if (!request) {
        await this.reject(claimed, name)
        continue
      }

      taken.push({name: claimed, request})
    }

    taken.sort((a, b) => Date.parse(a.request.at) - Date.parse(b.request.at) || a.name.localeCompare(b.name))
    for (const {name} of taken) await unlink(name).catch(() => undefined)
    return taken.map(({request}) => request)
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

  private async reject(claimed: string, name: string): Promise<void> {
    debug('rejecting malformed request %s', name)
    await ensurePrivateDir(rejectedDir(this.serviceDir))
    await rename(claimed, join(rejectedDir(this.serviceDir), name)).catch(() => undefined)
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

/** null when `value` is a valid request, else what is wrong with it */
export function whyInvalid(value: unknown): string | null {
  if (!isRecord(value)) return 'not a JSON object'
  const {id, kind, reason, full, actor, at} = value
  if (typeof id !== 'string' || !id) return 'no id'
  if (!KINDS.includes(kind as RequestKind)) return `kind must be one of ${KINDS.join(', ')}`
  if (reason !== undefined && typeof reason !== 'string') return 'reason must be text'
  if (full !== undefined && typeof full !== 'boolean') return 'full must be true or false'
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return 'at must be an ISO time'
  if (!isActor(actor)) return 'actor must name user, host, pid and ci'
  return null
}

function isActor(value: unknown): value is Actor {
  return (
    isRecord(value) &&
    typeof value.user === 'string' &&
    typeof value.host === 'string' &&
    typeof value.pid === 'number' &&
    typeof value.ci === 'boolean'
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
