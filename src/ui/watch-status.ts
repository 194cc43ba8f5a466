// `gray status --watch`: the board, redrawn every second, until Ctrl-C (exit 0).
import {ConfigError} from '../core/errors.js'
import {gateDirections} from '../core/gates/judge.js'
import type {StatusContext, StatusDocument, statusOf} from '../services/status.js'
import {renderBoard} from './board.js'
import {watchLoop} from './watch.js'

const INTERVAL_MS = 1_000

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
  try {
    const last = await watchLoop({
      // the first frame at once from the journal alone (a slow gateway must not keep the screen blank), then read back
      load: async () => {
        const reading = first
        first = false
        return {doc: await status(ctx, {events: 300, readBack: !reading}), reading}
      },
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
  }
}
