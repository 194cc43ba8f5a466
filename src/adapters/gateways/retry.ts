// Retries for gateway calls: a few tries with growing, jittered pauses, never
// for an error marked permanent (a 4xx, a config nginx rejects).
import {GatewayError} from '../../core/errors.js'
import type {Policy} from '../../core/ports.js'

export interface RetryOptions {
  /** tries in all, including the first */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
  signal?: AbortSignal
  /** whether another try may succeed; default: anything but a permanent GatewayError */
  retryable?: (error: unknown) => boolean
  /** called before each pause, e.g. to say what is being retried */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
}

export const DEFAULT_RETRY = {attempts: 4, baseDelayMs: 200, maxDelayMs: 3000} as const

/** An HTTP answer no retry changes: a 4xx other than 408 (timeout) and 429 (too many requests). */
export function permanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429
}

/** A gateway built for one service refuses another's policy. */
export function assertPublishesFor(policy: Policy, service: string): void {
  if (policy.service !== service) {
    throw new GatewayError(`This gateway publishes for service "${service}", not "${policy.service}".`, {permanent: true})
  }
}

export function isPermanent(error: unknown): boolean {
  return error instanceof GatewayError && error.permanent
}

/** The pause after failed try `attempt` (1-based): base·2^(attempt-1), capped, minus up to 25% jitter. */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
  return Math.round(full * (0.75 + 0.25 * random()))
}

export async function withRetry<T>(task: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retryable = options.retryable ?? ((error: unknown) => !isPermanent(error))
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(attempt)
    } catch (error) {
      if (attempt >= options.attempts || !retryable(error) || options.signal?.aborted) throw error
      const delay = backoffDelay(attempt, options.baseDelayMs, options.maxDelayMs)
      options.onRetry?.(error, attempt, delay)
      await pause(delay, options.signal)
      if (options.signal?.aborted) throw error
    }
  }
}

export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
}
