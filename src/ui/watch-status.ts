// `gray status --watch`: the board, redrawn every second, until Ctrl-C (exit 0). The run is
// read again when the state backend tells of a new event (LISTEN/NOTIFY on postgres, the
// journal directory's watch on local), and otherwise only every SAFETY_POLL_MS (a lease that
// lapsed writes no event); the frames between redraw what was read (the clock, the bake's countdown).
import {ConfigError} from '../core/errors.js'
import type {Notice} from '../state/backend.js'
import {lazyDebug} from '../state/debug-log.js'
import {gateDirections} from '../core/gates/judge.js'
import type {StatusContext, StatusDocument, statusOf} from '../services/status.js'
import {renderBoard} from './board.js'
import {watchLoop} from './watch.js'

const INTERVAL_MS = 1_000
const SAFETY_POLL_MS = 5_000
const debug = lazyDebug('gray:watch')

/** `configFile`: read in full in the background for each gate's direction (≤ until it is known). */
export async function watchStatus(ctx: StatusContext, status: typeof statusOf, configFile?: string): Promise<StatusDocument> {
  const out = process.stdout
  if (!out.isTTY) throw new ConfigError('--watch needs a terminal to draw on', 'in scripts use `gray status --json`, or `--wait` to block until the run ends')
  const color = !process.env.NO_COLOR && process.env.TERM !== 'dumb'
  let directions: Record<string, 'max' | 'min'> = {}
  if (configFile) {
    void import('../services/context.js')
      .then(({loadContext}) => loadContext(configFile))
      .then((full) => (directions = gateDirections(full.config.gates?.checks ?? [])))
      .catch(() => undefined)
  }
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  let first = true
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // what the backend tells of: the next frame reads the run again, at once
  let why: string | null = 'start'
  let change = deferred()
  const onNotice = (notice: Notice) => {
    if (notice.kind === 'request') return
    why ??= notice.kind
    change.resolve()
  }
  // subscribed in the background, so the first frame is not kept waiting; until then (or without notices) every frame reads
  let unsubscribe: (() => Promise<void>) | null = null
  let closed = false
  void ctx.backend.subscribe(ctx.service, onNotice).then(
    (u) => {
      if (closed) void u().catch(() => undefined)
      else unsubscribe = u
    },
    (error: unknown) => debug('no notices, reading every frame: %s', error instanceof Error ? error.message : String(error)),
  )
  let read: {doc: StatusDocument; reading: boolean} | null = null
  let readAt = 0
  try {
    const last = await watchLoop({
      // the first frame at once from the journal alone (a slow gateway must not keep the screen blank), then read back
      load: async () => {
        const reading = first
        first = false
        const reason = why ?? (!unsubscribe ? 'poll' : Date.now() - readAt >= SAFETY_POLL_MS ? 'safety poll' : null)
        if (!reading && reason === null && read && !read.reading) return read
        why = null
        change = deferred()
        debug('reading the run (%s)', reason ?? 'gateway read-back')
        readAt = Date.now()
        read = {doc: await status(ctx, {events: 300, readBack: !reading}), reading}
        return read
      },
      changed: () => change.promise,
      render: ({doc, reading}, size) => renderBoard(doc, {...size, color, now: Date.now(), directions, intervalMs: INTERVAL_MS, reading}),
      out,
      intervalMs: INTERVAL_MS,
      nextInMs: (v) => (v?.reading ? 0 : INTERVAL_MS),
      signal: stop.signal,
    })
    if (last) return last.doc
    return await status(ctx, {events: 10, readBack: false})
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    closed = true
    await (unsubscribe as (() => Promise<void>) | null)?.().catch(() => undefined)
  }
}

function deferred(): {promise: Promise<void>; resolve: () => void} {
  let resolve = () => undefined as void
  const promise = new Promise<void>((r) => (resolve = r))
  return {promise, resolve}
}
