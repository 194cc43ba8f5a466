// Publishing a policy: journaled intent, the gateway's own confirmation, retries.
import {errorMessage, GatewayError, GrayError} from '../errors.js'
import type {Policy} from '../ports.js'
import type {RunContext} from './context.js'
import type {PublishPurpose} from './events.js'

/**
 * Publishes and waits for the gateway's confirmation. A step publish never
 * starts once a rollback is requested, and gives up (holding the run) after
 * a few attempts; a rollback publish keeps trying until confirmed.
 */
export async function publish(ctx: RunContext, policy: Policy, purpose: PublishPurpose, step: number): Promise<boolean> {
  const {clock, gateway} = ctx.deps
  const isRollback = purpose === 'rollback' || (purpose === 'plain' && ctx.rollbackRequested)
  if (!isRollback && ctx.rollbackRequested) return false
  await ctx.record('gateway.publish.started', {
    revision: policy.revision,
    weightBp: policy.weightBp,
    mode: policy.mode,
    purpose,
    step,
    rules: policy.rules.length,
    gray: policy.gray.map((h) => h.address),
    stable: policy.stable.map((h) => h.address),
  })
  const deadline = clock.now() + ctx.opts.rollbackPublishDeadlineMs
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await gateway.publish(policy)
      if (applied.revision !== policy.revision) throw new GatewayError(`the gateway serves revision ${applied.revision}, not ${policy.revision}`)
      await ctx.record('gateway.publish.confirmed', {revision: applied.revision, weightBp: applied.weightBp, mode: applied.mode, purpose, step})
      return true
    } catch (error) {
      const permanent = error instanceof GatewayError && error.permanent
      await ctx.record('gateway.publish.failed', {revision: policy.revision, error: errorMessage(error), attempt, permanent, purpose})
      if (isRollback) {
        if (clock.now() >= deadline) {
          throw new GrayError(`rollback could not be published to the ${gateway.type} gateway: ${errorMessage(error)}; traffic may still reach gray`, {
            hint: 'fix the gateway, then run `gray rollback` again',
          })
        }
      } else if (permanent || attempt >= ctx.opts.publishAttempts || ctx.rollbackRequested) {
        if (!ctx.rollbackRequested) {
          await ctx.record('run.paused', {reason: `gateway did not take the policy: ${errorMessage(error)}`, cause: 'gateway'})
        }
        return false
      }
      await clock.sleep(ctx.backoff(attempt), isRollback ? undefined : ctx.phase.signal)
    }
  }
}
