// Several instances of one gateway (nginx or HAProxy nodes behind a VIP, or
// several control-plane URLs), published as one. A publish is confirmed only
// when every instance serves the revision; otherwise it fails naming the
// instances that do not, so a step never advances while they disagree, and a
// rollback (which the driver keeps retrying) goes to all at once every try —
// instances that already serve it answer at once from their read-back.
import {errorMessage, GatewayError} from '../../core/errors.js'
import type {AppliedPolicy, Gateway, GatewayCapabilities, Policy} from '../../core/ports.js'
import {backoffDelay, isPermanent, pause} from './retry.js'

export interface FleetMember {
  name: string
  gateway: Gateway
}

export interface InstanceReadBack {
  name: string
  applied: AppliedPolicy | null
  error?: string
}

export interface FleetTimings {
  /** tries per instance within one publish, including the first */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

const DEFAULT_TIMINGS: FleetTimings = {attempts: 3, baseDelayMs: 100, maxDelayMs: 1000}

type Outcome = {name: string; ok: true; applied: AppliedPolicy} | {name: string; ok: false; error: unknown}

export class FleetGateway implements Gateway {
  readonly type: string
  private readonly timings: FleetTimings

  constructor(
    readonly members: FleetMember[],
    timings: Partial<FleetTimings> = {},
  ) {
    const first = members[0]
    if (!first) throw new GatewayError('A gateway fleet needs at least one instance.', {permanent: true})
    this.type = first.gateway.type
    this.timings = {...DEFAULT_TIMINGS, ...timings}
  }

  capabilities(): GatewayCapabilities {
    return (this.members[0] as FleetMember).gateway.capabilities()
  }

  render(policy: Policy): string {
    const first = this.members[0] as FleetMember
    return [`# the same policy on each of ${this.members.length} instances (${this.members.map((m) => m.name).join(', ')}); as ${first.name} gets it:`, first.gateway.render(policy)].join('\n')
  }

  async publish(policy: Policy, signal?: AbortSignal): Promise<AppliedPolicy> {
    const outcomes = await Promise.all(this.members.map((member) => this.publishOne(member, policy, signal)))
    const failed = outcomes.filter((o): o is Extract<Outcome, {ok: false}> => !o.ok)
    if (failed.length === 0) return (outcomes[0] as Extract<Outcome, {ok: true}>).applied
    const confirmed = outcomes.filter((o) => o.ok).map((o) => o.name)
    const reasons = failed.map((o) => `${o.name}: ${errorMessage(o.error)}`).join('; ')
    const toStable = policy.mode === 'plain' || (policy.weightBp === 0 && policy.rules.length === 0)
    const still = toStable ? ` ${failed.map((o) => o.name).join(', ')} may still send traffic to gray.` : ''
    throw new GatewayError(
      `Revision ${policy.revision} is confirmed on ${confirmed.length} of ${this.members.length} ${this.type} instances${confirmed.length > 0 ? ` (${confirmed.join(', ')})` : ''}, not on ${failed.map((o) => o.name).join(', ')} (${reasons}).${still}`,
      // retrying helps unless every instance that failed refused for good
      {permanent: failed.every((o) => isPermanent(o.error)), cause: (failed[0] as {error: unknown}).error},
    )
  }

  /** What every instance serves; throws when they disagree, naming each one's revision. */
  async readBack(signal?: AbortSignal): Promise<AppliedPolicy | null> {
    const each = await this.readBackEach(signal)
    const broken = each.filter((i) => i.error !== undefined)
    if (broken.length > 0) throw new GatewayError(`${broken.map((i) => `${i.name}: ${i.error}`).join('; ')}`)
    const revisions = new Set(each.map((i) => i.applied?.revision ?? null))
    if (revisions.size > 1) {
      throw new GatewayError(`The ${this.type} instances disagree: ${each.map((i) => `${i.name} serves ${i.applied ? `revision ${i.applied.revision} (${i.applied.weightBp / 100}%)` : 'nothing from gray'}`).join(', ')}.`)
    }
    return (each[0] as InstanceReadBack).applied
  }

  async readBackEach(signal?: AbortSignal): Promise<InstanceReadBack[]> {
    return Promise.all(
      this.members.map(async ({name, gateway}): Promise<InstanceReadBack> => {
        try {
          return {name, applied: await gateway.readBack(signal)}
        } catch (error) {
          return {name, applied: null, error: errorMessage(error)}
        }
      }),
    )
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.gateway.close?.()))
  }

  private async publishOne(member: FleetMember, policy: Policy, signal?: AbortSignal): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await member.gateway.publish(policy, signal)
        if (applied.revision !== policy.revision) throw new GatewayError(`serves revision ${applied.revision}, not ${policy.revision}`)
        return {name: member.name, ok: true, applied}
      } catch (error) {
        if (isPermanent(error) || attempt >= this.timings.attempts || signal?.aborted) return {name: member.name, ok: false, error}
        await pause(backoffDelay(attempt, this.timings.baseDelayMs, this.timings.maxDelayMs), signal).catch(() => undefined)
      }
    }
  }
}

export function isFleet(gateway: Gateway): gateway is FleetGateway {
  return gateway instanceof FleetGateway
}
