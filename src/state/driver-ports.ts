// The engine's Journal and Inbox ports (src/core/ports.ts) over a StateBackend:
// what RunDriver writes and reads while it holds the service's lease.
import type {ControlRequest, Inbox, JournalEvent, JournalWriter} from '../core/ports.js'
import type {Lease, StateBackend} from './backend.js'

/**
 * A run's journal as the driver sees it: the events read once at open, then
 * each append goes to the backend under the lease (fenced: a deposed writer's
 * append fails with LockedError) and at the seq this writer expects next, so a
 * writer that missed someone else's event writes nothing.
 */
export class BackendJournal implements JournalWriter {
  private constructor(
    private readonly backend: StateBackend,
    private readonly service: string,
    readonly runId: string,
    private readonly lease: Lease,
    private readonly known: JournalEvent[],
  ) {}

  static async open(backend: StateBackend, service: string, runId: string, lease: Lease): Promise<BackendJournal> {
    // an empty append readies the run for this writer first: local opens the journal, repairing (and
    // journaling the repair of) a torn last line, so the events read next are the ones it appends after
    await backend.append(service, runId, lease, [])
    return new BackendJournal(backend, service, runId, lease, await backend.readEvents(service, runId))
  }

  events(): readonly JournalEvent[] {
    return this.known
  }

  async append(type: string, data: Record<string, unknown>): Promise<JournalEvent> {
    // before every side effect the driver journals; this is where a lost lease stops it
    this.lease.assertHeld()
    const expectSeq = (this.known.at(-1)?.seq ?? 0) + 1
    const [event] = await this.backend.append(this.service, this.runId, this.lease, [{type, data}], {expectSeq})
    if (!event) throw new Error(`the state backend wrote no event for ${type}`)
    this.known.push(event)
    // the write proved the lease held when it committed, not now: a reply that came back late (a
    // slow or cut-off link) finds the lease lapsed, and the side effect this event announces is not made
    this.lease.assertHeld()
    return event
  }
}

const SAFETY_POLL_MS = 1_000

/** The service's requests: read from the backend and acked once journaled; a driver waiting on them wakes on the backend's notice. */
export function backendInbox(backend: StateBackend, service: string): Inbox {
  return {
    peek: (): Promise<ControlRequest[]> => backend.peekRequests(service),
    ack: (requests: readonly ControlRequest[]): Promise<void> => backend.ackRequests(service, requests),
    onArrival(listener: () => void): () => void {
      let stopped = false
      let stop: (() => Promise<void>) | null = null
      void backend
        .subscribe(service, (notice) => {
          // a resync means notices may have been missed: look, as for a request
          if (!stopped && (notice.kind === 'request' || notice.kind === 'resync')) listener()
        })
        .then(
          (unsubscribe) => {
            if (stopped) void unsubscribe().catch(() => undefined)
            else stop = unsubscribe
          },
          // without notices the driver still reads its inbox at every safe point
          () => undefined,
        )
      // local's own notices poll where watching fails; elsewhere a lost notice costs at most this long
      const poll = backend.kind === 'local' ? undefined : setInterval(() => stopped || listener(), SAFETY_POLL_MS)
      poll?.unref()
      return () => {
        stopped = true
        clearInterval(poll)
        void stop?.().catch(() => undefined)
      }
    },
  }
}
