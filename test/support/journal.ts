// A journal written by hand, for the engine's pure decisions (nextAction, nextRollbackStep): each
// helper appends the events a driver would have journaled at that point of a run.
import type {GrayConfig} from '../../src/core/config/model.js'
import type {JournalEvent} from '../../src/core/ports.js'
import {runStarted} from '../../src/core/run/begin.js'
import type {EventData, EventType} from '../../src/core/run/events.js'
import type {Policy} from '../../src/core/ports.js'
import {replay, type RunState} from '../../src/core/run/state.js'
import {testActor} from './fakes.js'

export class HandJournal {
  readonly events: JournalEvent[] = []

  constructor(
    readonly config: GrayConfig,
    version = 'v2',
    previousVersion: string | null = 'v1',
  ) {
    this.add('run.started', runStarted(config, 'run-1', version, previousVersion))
    this.add('driver.attached', {epoch: 1, takeover: false})
  }

  add<T extends EventType>(type: T, data: EventData[T]): this {
    const seq = this.events.length + 1
    this.events.push({seq, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), actor: testActor, type, data: data as unknown as Record<string, unknown>})
    return this
  }

  state(): RunState {
    return replay(this.events)
  }

  deployed(addresses: string[], version: string, purpose: EventData['host.deploy.started']['purpose'], step?: number, ok = true): this {
    for (const host of addresses) this.add('host.deploy.started', {host, name: host, version, purpose, attempt: 1, step})
    for (const host of addresses) {
      if (ok) this.add('host.deploy.succeeded', {host, version, durationMs: 1, outputTail: []})
      else this.add('host.deploy.failed', {host, version, error: 'exit 1', outputTail: [], attempt: 1})
    }
    return this
  }

  /** journals a publish of `policy` (as nextAction returned it) and, unless `confirmed` is false, its confirmation */
  published(policy: Policy, purpose: EventData['gateway.publish.started']['purpose'], step: number, confirmed = true): this {
    this.add('gateway.publish.started', {
      revision: policy.revision,
      weightBp: policy.weightBp,
      mode: policy.mode,
      purpose,
      step,
      rules: policy.rules.length,
      gray: policy.gray.map((h) => h.address),
      stable: policy.stable.map((h) => h.address),
    })
    if (confirmed) this.add('gateway.publish.confirmed', {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode, purpose, step})
    return this
  }
}
