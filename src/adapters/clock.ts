// The real clock: wall time, and sleeps that end early when their signal aborts.
import type {Clock} from '../core/ports.js'

const MAX_TIMER_MS = 2 ** 31 - 1

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      // Node's timers overflow past 2^31-1 ms into a 1 ms timer: a longer sleep ends at the cap, and callers sleep again
      const timer = setTimeout(done, Math.max(0, Math.min(ms, MAX_TIMER_MS)))
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, {once: true})
    }),
}
