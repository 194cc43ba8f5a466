// `gray start` after the hand-off wait, finding an agent's lease: it follows an
// agent that attaches, drives the run itself once the lease lapsed, and gives up
// with a clear error on an agent that holds the lease and never attaches.
import {describe, expect, test} from 'vitest'
import {ExitCode, LockedError} from '../../../src/core/errors.js'
import {agentDrivingOrLapsed} from '../../../src/services/handoff.js'
import type {LeaseState} from '../../../src/state/backend.js'

const holder = {kind: 'agent' as const, user: 'gray', host: 'agent-1', pid: 4242, ci: false}

function backend(leases: Array<LeaseState | null>, attachedAtRead: number | null = null, epoch = 7) {
  let reads = 0
  return {
    service: 'checkout',
    reads: () => reads,
    backend: {
      async readLease() {
        const lease = leases[Math.min(reads, leases.length - 1)] ?? null
        reads++
        return lease
      },
      async readEvents() {
        return attachedAtRead !== null && reads > attachedAtRead ? [{seq: 1, type: 'driver.attached', data: {epoch, takeover: false}}] : []
      },
    },
  }
}

const alive = (epoch = 7): LeaseState => ({holder, epoch, alive: true})

describe('agentDrivingOrLapsed', () => {
  test('an agent that attaches to the run: its lease', async () => {
    const ctx = backend([alive()], 3)
    expect(await agentDrivingOrLapsed(ctx as never, 'r1', 7, 60_000)).toEqual(alive())
    expect(ctx.reads()).toBe(4)
  })

  test('the lease lapses before any agent attaches: null, the caller drives the run', async () => {
    const ctx = backend([alive(), alive(), {...alive(), alive: false}])
    expect(await agentDrivingOrLapsed(ctx as never, 'r1', 7, 60_000)).toBeNull()
    expect(ctx.reads()).toBe(3)
  })

  test('an attach of an older epoch does not count', async () => {
    const ctx = backend([alive(8), alive(8), null], 0, 7)
    expect(await agentDrivingOrLapsed(ctx as never, 'r1', 8, 60_000)).toBeNull()
  })

  test('an agent that keeps its lease alive and never attaches: a locked error naming it, not a wait without end', async () => {
    const ctx = backend([alive()])
    const error = await agentDrivingOrLapsed(ctx as never, 'r1', 7, 1000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LockedError)
    expect((error as LockedError).exitCode).toBe(ExitCode.locked)
    expect((error as Error).message).toBe('the agent on agent-1 (pid 4242) holds the lease of checkout but has not taken run r1 in 1 s')
  })
})
