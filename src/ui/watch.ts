// Redraws a board in place until the signal aborts: home the cursor, rewrite
// each line (clearing what the last frame left), clear below. The last frame
// stays on screen when it ends.
import {setTimeout as delay} from 'node:timers/promises'

export interface WatchOptions<T> {
  load: () => Promise<T>
  render: (value: T, size: {width: number; height: number}) => string[]
  out: NodeJS.WriteStream
  intervalMs: number
  /** how long until the next frame after this value (intervalMs unless told) */
  nextInMs?: (value: T | null) => number
  signal: AbortSignal
  /** resolves when something changed (a new event): the next frame comes at once instead of after the wait */
  changed?: () => Promise<void>
}

const HIDE_CURSOR = '\x1b[?25l'
const SHOW_CURSOR = '\x1b[?25h'
const HOME = '\x1b[H'
const CLEAR_SCREEN = '\x1b[2J'
const CLEAR_LINE_END = '\x1b[K'
const CLEAR_BELOW = '\x1b[J'

export async function watchLoop<T>(o: WatchOptions<T>): Promise<T | null> {
  let last: T | null = null
  o.out.write(HIDE_CURSOR + CLEAR_SCREEN)
  try {
    while (!o.signal.aborted) {
      let frame: string[]
      try {
        last = await o.load()
        frame = o.render(last, size(o.out))
      } catch (error) {
        frame = [`gray: cannot read the run: ${error instanceof Error ? error.message : String(error)}; retrying`]
      }
      if (o.signal.aborted) break
      const rows = size(o.out).height
      o.out.write(HOME + frame.slice(0, rows - 1).map((l) => l + CLEAR_LINE_END).join('\n') + '\n' + CLEAR_BELOW)
      // a frame that asked for none (the first, drawn before the gateway was read) is followed at once
      const wait = o.nextInMs?.(last) ?? o.intervalMs
      if (wait > 0) {
        const early = new AbortController()
        void o.changed?.().then(() => early.abort())
        await delay(wait, undefined, {signal: AbortSignal.any([o.signal, early.signal])}).catch(() => undefined)
        early.abort()
      }
    }
  } finally {
    o.out.write(SHOW_CURSOR)
  }
  return last
}

function size(out: NodeJS.WriteStream): {width: number; height: number} {
  return {width: out.columns || 80, height: out.rows || 30}
}
