// The one door through which everything that only watches a run (the live view,
// the line printer, notifications, a follower's display) gets its events. The
// driver hands an event to the hub and goes on: the hub never throws, never
// makes the driver wait, catches each observer's throw or rejected promise,
// reports it once (one line; the stack only with DEBUG=gray*), and drops a
// broken display or keeps a notifier, as each observer asked. An observer that
// installs a SIGINT/SIGTERM handler while it is called loses it: only the
// driver decides what a signal does to a run. (That check is made around the
// call itself; what an observer does later in its own timers cannot be blamed on
// it reliably, so the run view installs nothing at all: see ui/progress.ts.)
import {errorMessage} from '../core/errors.js'
import type {JournalEvent} from '../core/ports.js'
import type {RunState} from '../core/run/state.js'
import {shown} from '../core/redact.js'

/** May return a promise; nobody waits for it. */
export type Observer = (event: JournalEvent, state: RunState) => unknown

export interface Watcher {
  /** how the report names it: "the live view", "notifications" */
  name: string
  observe: Observer
  /** after a failure: drop it (a display) or keep calling it (a notifier that may recover) */
  onFailure?: 'drop' | 'keep'
}

export interface HubOptions {
  report?: (line: string) => void
  debug?: boolean
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

type Entry = Watcher & {dropped: boolean; reported: boolean}

export function isDebug(): boolean {
  return /(^|,)\s*gray/.test(process.env.DEBUG ?? '')
}

export class ObserverHub {
  private readonly watchers: Entry[]
  private readonly report: (line: string) => void
  private readonly debug: boolean
  /** every failure seen, for tests and the end of the run */
  readonly failures: Array<{name: string; message: string}> = []

  constructor(watchers: Array<Watcher | undefined>, options: HubOptions = {}) {
    this.watchers = watchers.filter((w): w is Watcher => Boolean(w)).map((w) => ({...w, dropped: false, reported: false}))
    this.report = options.report ?? ((line) => void process.stderr.write(`${line}\n`))
    this.debug = options.debug ?? isDebug()
  }

  get size(): number {
    return this.watchers.length
  }

  /** The driver's `observe`: hands the event to every watcher; returns at once, never throws. */
  readonly emit = (event: JournalEvent, state: RunState): void => {
    for (const w of this.watchers) {
      if (w.dropped) continue
      const before = SIGNALS.map((s) => process.listeners(s))
      try {
        const result = w.observe(event, state)
        if (isPromise(result)) result.then(undefined, (error: unknown) => this.failed(w, error))
      } catch (error) {
        this.failed(w, error)
      }
      this.disarm(w, before)
    }
  }

  /** Removes the signal handlers a watcher added while it was called. */
  private disarm(w: Entry, before: NodeJS.SignalsListener[][]): void {
    SIGNALS.forEach((signal, i) => {
      const added = process.listeners(signal).filter((l) => !before[i]?.includes(l))
      if (added.length === 0) return
      for (const l of added) process.off(signal, l)
      this.failed(w, new Error(`it installed a ${signal} handler, which was removed (only the driver handles signals during a run)`))
    })
  }

  private failed(w: Entry, error: unknown): void {
    const message = errorMessage(error)
    this.failures.push({name: w.name, message})
    if (w.onFailure !== 'keep') w.dropped = true
    if (w.reported) return
    w.reported = true
    try {
      const then = w.onFailure === 'keep' ? 'the run goes on' : `the run goes on without ${w.name}`
      this.report(shown(`gray: ${w.name} failed: ${oneLine(message)}; ${then}`))
      if (this.debug && error instanceof Error && error.stack) this.report(shown(error.stack))
    } catch {
      // reporting must not fail the driver either
    }
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as {then?: unknown}).then === 'function'
}

function oneLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
}

/**
 * While a run is driven, a rejected promise nobody handles (an observer's stray
 * timer or render, a library's background work) is reported once and does not
 * end the process: what the driver waits for it handles itself, and the journal,
 * not this process, is the run's memory — dying here would only leave the run
 * unguarded at its current weight.
 */
export function guardStrayRejections(report: (line: string) => void = (l) => void process.stderr.write(`${l}\n`)): () => void {
  const seen = new Set<string>()
  const onRejection = (reason: unknown) => {
    const message = oneLine(errorMessage(reason))
    if (seen.has(message)) return
    seen.add(message)
    try {
      report(shown(`gray: an error off the driver's path was ignored: ${message}; the run goes on`))
      if (isDebug() && reason instanceof Error && reason.stack) report(shown(reason.stack))
    } catch {
      // ignore
    }
  }
  process.on('unhandledRejection', onRejection)
  return () => void process.off('unhandledRejection', onRejection)
}
