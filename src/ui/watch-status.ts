// `gray status --watch`: the board, redrawn every second, until Ctrl-C (exit 0).
import {ConfigError} from '../core/errors.js'
import {gateDirections} from '../core/gates/judge.js'
import type {Context} from '../services/context.js'
import type {StatusDocument, statusOf} from '../services/status.js'
import {renderBoard} from './board.js'
import {watchLoop} from './watch.js'

const INTERVAL_MS = 1_000

export async function watchStatus(ctx: Context, status: typeof statusOf): Promise<StatusDocument> {
  const out = process.stdout
  if (!out.isTTY) throw new ConfigError('--watch needs a terminal to draw on', 'in scripts use `gray status --json`, or `--wait` to block until the run ends')
  const color = !process.env.NO_COLOR && process.env.TERM !== 'dumb'
  const directions = gateDirections(ctx.config.gates?.checks ?? [])
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const last = await watchLoop({
      load: () => status(ctx, {events: 300}),
      render: (doc, size) => renderBoard(doc, {...size, color, now: Date.now(), directions, intervalMs: INTERVAL_MS}),
      out,
      intervalMs: INTERVAL_MS,
      signal: stop.signal,
    })
    return last ?? (await status(ctx, {events: 10, readBack: false}))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
