// Waiting on processes the tests start (nginx, HAProxy, the demo services):
// whether a pid still lives, and polling a condition within a budget.
import {setTimeout as delay} from 'node:timers/promises'

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls `ok` until it holds; rejects with `message` once `timeoutMs` passed. */
export async function waitFor(ok: () => boolean | Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(message)
    await delay(20)
  }
}
