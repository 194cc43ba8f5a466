// One run's append-only NDJSON journal: one event per line, seq +1 each line,
// fsynced before an append resolves, never rewritten except a torn tail.
import {open, type FileHandle} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {Actor, JournalEvent, JournalWriter} from '../core/ports.js'
import {GrayError, errorMessage} from '../core/errors.js'
import {cleanDeep} from '../core/redact.js'
import {ensurePrivateDir, NOFOLLOW_APPEND, readPrivateFile, writeAtomic} from './files.js'

export interface JournalOptions {
  actor: Actor
  /** create the file (and its directory) when missing; false: a missing journal is an error */
  create: boolean
  /** called before every write; throws when this process may no longer write (lock fencing) */
  guard?: () => void
  /** epoch ms for the `at` of new events; defaults to the system clock */
  now?: () => number
}

export type AppendListener = (event: JournalEvent) => void

interface ParsedJournal {
  events: JournalEvent[]
  /** bytes up to the end of the last complete line */
  goodBytes: number
  /** the torn last line, if any */
  torn: Buffer | null
}

const DROPPED_TEXT_LIMIT = 200

export class JournalFile implements JournalWriter {
  readonly path: string
  private readonly file: FileHandle
  private readonly options: JournalOptions
  private readonly written: JournalEvent[]
  private readonly listeners = new Set<AppendListener>()
  private queue: Promise<unknown> = Promise.resolve()
  private pending: Array<{type: string; data: Record<string, unknown>; resolve: (e: JournalEvent) => void; reject: (e: unknown) => void}> = []
  private flushing = false
  private failure: unknown = null
  private closed = false

  private constructor(path: string, file: FileHandle, events: JournalEvent[], options: JournalOptions) {
    this.path = path
    this.file = file
    this.written = events
    this.options = options
  }

  /**
   * Creates a new journal holding its first event, all at once: the file
   * appears with that line fsynced, or not at all, so no reader and no crash
   * ever finds a run's journal empty. Refuses to replace an existing file.
   */
  static async create(path: string, type: string, data: Record<string, unknown>, options: Omit<JournalOptions, 'create'>): Promise<JournalFile> {
    await ensurePrivateDir(dirname(path))
    options.guard?.()
    const first: JournalEvent = {seq: 1, at: new Date(options.now?.() ?? Date.now()).toISOString(), actor: options.actor, type, data: cleanDeep(data)}
    try {
      await writeAtomic(path, JSON.stringify(first) + '\n', {durable: true, exclusive: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new GrayError(`journal ${path} already exists; this is a bug in gray, please report it`)
      throw new GrayError(`could not create journal ${path}: ${errorMessage(error)}; check the disk and start again`, {cause: error})
    }

    return JournalFile.open(path, {...options, create: false})
  }

  static async open(path: string, options: JournalOptions): Promise<JournalFile> {
    const content = await readExisting(path, options.create)
    const parsed = parseJournal(path, content ?? Buffer.alloc(0))
    if (content === null) await ensurePrivateDir(dirname(path))

    // never through a symlink: a journal replaced by one is refused, its target left alone
    let file: FileHandle
    try {
      file = await open(path, NOFOLLOW_APPEND, 0o600)
    } catch (error) {
      throw unreadable(path, error)
    }
    const journal = new JournalFile(path, file, parsed.events, options)
    try {
      if (parsed.torn) await journal.repair(parsed.goodBytes, parsed.torn)
    } catch (error) {
      await file.close()
      throw error
    }

    return journal
  }

  /**
   * Appends one event, resolving once it is fsynced. Appends that arrive while
   * an fsync is under way are written together and share the next fsync (group
   * commit): each still resolves only when its own line is on disk, in seq order.
   */
  append(type: string, data: Record<string, unknown>): Promise<JournalEvent> {
    if (this.closed) return Promise.reject(new GrayError(`journal ${this.path} is closed; this is a bug in gray, please report it`))
    return new Promise<JournalEvent>((resolve, reject) => {
      this.pending.push({type, data, resolve, reject})
      if (!this.flushing) this.queue = this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.pending.length)
        try {
          const events = await this.write(batch)
          batch.forEach((b, i) => b.resolve(events[i] as JournalEvent))
        } catch (error) {
          for (const b of batch) b.reject(error)
        }
      }
    } finally {
      this.flushing = false
    }
  }

  events(): readonly JournalEvent[] {
    return this.written
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    await this.file.close()
  }

  private async repair(goodBytes: number, torn: Buffer): Promise<void> {
    this.options.guard?.()
    await this.file.truncate(goodBytes)
    await this.file.sync()
    await this.append('journal.repaired', {
      droppedBytes: torn.length,
      droppedText: torn.toString('utf8').slice(0, DROPPED_TEXT_LIMIT),
    })
  }

  private async write(batch: ReadonlyArray<{type: string; data: Record<string, unknown>}>): Promise<JournalEvent[]> {
    if (this.failure) throw this.failure
    this.options.guard?.()

    let seq = this.written.at(-1)?.seq ?? 0
    const at = new Date(this.options.now?.() ?? Date.now()).toISOString()
    // the door of the journal: no secret and no terminal control is ever written, nor handed to observers
    const events: JournalEvent[] = batch.map(({type, data}) => ({seq: ++seq, at, actor: this.options.actor, type, data: cleanDeep(data)}))
    const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''), 'utf8')

    try {
      let offset = 0
      while (offset < bytes.length) {
        const {bytesWritten} = await this.file.write(bytes, offset, bytes.length - offset)
        offset += bytesWritten
      }

      await this.file.sync()
    } catch (error) {
      // a half-written line may be on disk: stop appending so it stays the torn tail that open() repairs
      this.failure = new GrayError(`could not write journal ${this.path}: ${errorMessage(error)}; check the disk and resume the run`, {cause: error})
      throw this.failure
    }

    for (const event of events) {
      this.written.push(event)
      for (const listener of this.listeners) {
        try {
          listener(event)
        } catch {
          // a failing observer (the UI) must not stop the run
        }
      }
    }

    return events
  }
}

/** Reads a journal without changing it (for `status`): a torn last line is ignored and reported. */
export async function readJournal(path: string): Promise<{events: JournalEvent[]; torn: boolean}> {
  const content = await readExisting(path, false)
  const parsed = parseJournal(path, content ?? Buffer.alloc(0))
  return {events: parsed.events, torn: parsed.torn !== null}
}

/** a journal of a very long run is a few MiB; this much is not one */
const MAX_JOURNAL_BYTES = 512 * 1024 * 1024

async function readExisting(path: string, create: boolean): Promise<Buffer | null> {
  try {
    return await readPrivateFile(path, MAX_JOURNAL_BYTES)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (create) return null
      throw new GrayError(`no journal at ${path}; check the run id with \`gray status\``)
    }
    throw unreadable(path, error)
  }
}

function unreadable(path: string, error: unknown): GrayError {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ELOOP') {
    return new GrayError(`journal ${path} is a symbolic link; gray never reads or writes a journal through one: move it aside and check who put it there`, {cause: error})
  }
  if (code === 'ENOTREGULAR') return new GrayError(`journal ${path} is not a regular file; move it aside and check who put it there`, {cause: error})
  return new GrayError(`could not read journal ${path}: ${errorMessage(error)}`, {cause: error})
}

function parseJournal(path: string, content: Buffer): ParsedJournal {
  const events: JournalEvent[] = []
  let start = 0
  let lineNumber = 0

  while (start < content.length) {
    lineNumber++
    const end = content.indexOf(0x0a, start)
    if (end === -1) return {events, goodBytes: start, torn: content.subarray(start)}

    const parsed = parseEvent(content.subarray(start, end))
    const isLast = end + 1 === content.length
    if (typeof parsed === 'string') {
      if (isLast && TORN_REASONS.has(parsed)) return {events, goodBytes: start, torn: content.subarray(start)}
      throw damaged(path, lineNumber, parsed)
    }

    const expected = events.length + 1
    if (parsed.seq !== expected) throw damaged(path, lineNumber, `has seq ${parsed.seq} where ${expected} was expected`)
    events.push(parsed)
    start = end + 1
  }

  return {events, goodBytes: content.length, torn: null}
}

const EMPTY = 'is empty'
const NOT_JSON = 'is not valid JSON'
/** what an interrupted write leaves as the last line; anything else there is damage */
const TORN_REASONS = new Set([EMPTY, NOT_JSON])

/** the event, or why the line is not one */
function parseEvent(raw: Buffer): JournalEvent | string {
  if (raw.length === 0) return EMPTY
  let value: unknown
  try {
    value = JSON.parse(raw.toString('utf8'))
  } catch {
    return NOT_JSON
  }

  if (!isRecord(value)) return 'is not a JSON object'
  const {seq, at, actor, type, data} = value
  if (!Number.isInteger(seq)) return 'has no whole-number seq'
  if (typeof at !== 'string' || typeof type !== 'string' || !isRecord(actor) || !isRecord(data)) {
    return 'lacks one of at, actor, type, data'
  }

  return value as unknown as JournalEvent
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function damaged(path: string, line: number, reason: string): GrayError {
  return new GrayError(
    `journal ${path} line ${line} ${reason}; nothing was changed: move the file aside (or fix that line) and retry`,
  )
}
