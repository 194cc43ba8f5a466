// How rollback works. Pure: the next step of a rollback, decided from the run's replayed state.
//
// Where a rollback is decided: by the gates in ./escalation.ts (assessMeasurements), by a person or a
// signal in ./requests.ts; either journals rollback.started, after which ./next.ts hands every
// decision to nextRollbackStep below. The sequence:
//   1. traffic  — weight 0 to gray (a split policy, no rules), retried until the gateway confirms it;
//                 with no stable host on the previous version there is nowhere to send traffic: a warning;
//   2. hosts    — every host that got (or may have got) the new version is deployed the previous one;
//                 with no previous version known, or when a revert fails: a warning, and they stay;
//   3. plain    — once every host runs the previous version: the plain policy, every host, no split;
//   4. hook     — onRollback, once;
//   5. finish   — run.rolled_back, with the hosts reverted and not.
// A driver that takes over a half-done rollback carries the sequence out again from the top (the
// journal's RollbackPass starts afresh at driver.attached); each step is skipped once its effect is
// in force: zero weight confirmed, hosts on the previous version, the plain policy served, the hook run.
import type {GrayConfig} from '../config/model.js'
import {hookCommand} from '../hooks.js'
import type {Policy} from '../ports.js'
import {plainPolicy, splitPolicy} from './policy.js'
import {hookDone, hostsToRevert, stableUpstream, type HostState, type RunState} from './state.js'

/** What a rollback.warning is about: the traffic step (1) or the hosts step (2). */
export type RollbackConcern = 'traffic' | 'hosts'

export type RollbackStep =
  | {kind: 'publish'; purpose: 'rollback' | 'plain'; step: number; policy: Policy}
  | {kind: 'warn'; about: RollbackConcern; message: string}
  | {kind: 'deploy'; hosts: HostState[]; purpose: 'revert'; version: string}
  | {kind: 'hook'; stage: 'onRollback'; key: 'rollback'; weightBp: number}
  | {kind: 'rolled-back'; reason: string; reverted: string[]; notReverted: string[]}

/** Zero weight to gray is in force: a rollback (or the plain policy after it) confirmed and nothing newer pending. */
export function zeroInForce(s: RunState): boolean {
  const a = s.applied
  return Boolean(a && a.weightBp === 0 && (a.purpose === 'rollback' || a.purpose === 'plain') && !s.publishPending)
}

/** The first part of a rollback is done: gray's traffic is back on stable, or gray warned that it could not be moved. */
export function rollbackTrafficDone(s: RunState): boolean {
  const pass = s.rollbackPass
  return zeroInForce(s) || pass.confirmed.includes('rollback') || pass.warned.includes('traffic')
}

/** The next step of the rollback `s.rollback` asks for; the caller has checked that the run has not ended. */
export function nextRollbackStep(s: RunState, config: GrayConfig): RollbackStep {
  const pass = s.rollbackPass

  // 1. traffic back to stable
  if (!rollbackTrafficDone(s)) {
    if (stableUpstream(s).length > 0 || s.release) return {kind: 'publish', purpose: 'rollback', step: s.stepIndex, policy: splitPolicy(config, s, {weightBp: 0, rules: false})}
    return {kind: 'warn', about: 'traffic', message: 'no stable host runs the previous version: hosts are reverted before traffic can move'}
  }

  // 2. hosts back to the previous version: once per pass; the hosts it began on are the ones it reports
  const reverting = s.hosts.filter((h) => pass.reverting.includes(h.address))
  let toRevert: HostState[]
  let notReverted: HostState[]
  if (reverting.length > 0) {
    toRevert = reverting
    notReverted = reverting.filter((h) => h.version !== s.previousVersion)
    if (notReverted.length > 0 && !pass.warned.includes('hosts')) {
      return {kind: 'warn', about: 'hosts', message: `could not revert ${notReverted.map((h) => h.address).join(', ')} to ${s.previousVersion}`}
    }
  } else {
    toRevert = hostsToRevert(s)
    notReverted = []
    if (toRevert.length > 0) {
      if (s.previousVersion) return {kind: 'deploy', hosts: toRevert, purpose: 'revert', version: s.previousVersion}
      if (!pass.warned.includes('hosts')) {
        return {
          kind: 'warn',
          about: 'hosts',
          message: `no previous version is known (no earlier run recorded one, and the run began without --previous-version), so ${toRevert.map((h) => h.name).join(', ')} keep running ${s.version}: deploy the version they ran before to them by hand`,
        }
      }
      notReverted = toRevert
    }
  }

  // 3. the plain policy, only when every host runs the previous version
  const plainInForce = (s.applied?.mode === 'plain' && !s.publishPending) || pass.confirmed.includes('plain')
  if (notReverted.length === 0 && (s.previousVersion || s.release) && !plainInForce) {
    return {kind: 'publish', purpose: 'plain', step: s.stepIndex, policy: plainPolicy(config, s, s.hosts)}
  }

  // 4. the onRollback hook
  if (hookCommand(config.hooks, 'onRollback') && !hookDone(s, 'onRollback', 'rollback')) {
    return {kind: 'hook', stage: 'onRollback', key: 'rollback', weightBp: s.applied?.weightBp ?? 0}
  }

  // 5. finish
  const left = new Set(notReverted.map((h) => h.address))
  return {
    kind: 'rolled-back',
    reason: s.rollback?.reason ?? 'rolled back',
    reverted: toRevert.map((h) => h.address).filter((a) => !left.has(a)),
    notReverted: notReverted.map((h) => h.address),
  }
}
