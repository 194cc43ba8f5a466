// A release of several services (issue 16, docs/releases.md) is one run per
// service, each with its own journal, lease and fencing, conducted as one:
// every downstream service's run publishes its tag route (weight 0, one rule
// on the entry's tag) and holds there with its gates guarding the hold; the
// entry's run steps the weight. This file decides, from the runs as replayed
// and the release's own decisions, what the release does next: a pure
// function, like nextAction for one run (src/core/run/next-action.ts).
//
// Forward: start the services in deploy order (downstream first), each once
// the one before holds at its tag route; the entry last. When the entry holds
// at its last step (100%), complete the services downstream first, the entry
// last, so no hop ever sends a gray request to a service that no longer has a
// gray version it can route to.
//
// One fate: a member's run that rolls back (its gates, a failed deploy, a
// person) rolls the whole release back. The entry's traffic leaves gray
// first (seconds); only then are the downstream runs rolled back (their
// routing, then their hosts, each to its own previous version).
import {rollbackTrafficDone} from '../run/rollback.js'
import {holds, isTerminal, type RunState} from '../run/state.js'

export interface ReleaseMember {
  service: string
  /** the service whose gateway splits by weight and tags gray requests; the last in deploy order */
  entry: boolean
}

export interface ReleaseView {
  /** deploy order: downstream first, the entry last */
  members: readonly ReleaseMember[]
  /** each member's run of this release, replayed; absent until it is started */
  runs: Readonly<Record<string, RunState | undefined>>
  /** the release decided to roll back (journaled as release.rolling_back) */
  rollback: {reason: string; by: string} | null
  /** the entry's last step was a pause of the person's own (gray.yaml): it completes only on their promote */
  entryHoldsLast: boolean
  /** a person promoted the release at that last hold (journaled as release.promoted) */
  promoted: boolean
}

export type ReleaseAction =
  /** start this member's run of the release */
  | {kind: 'start'; service: string}
  /** journal the release's decision to roll back, then decide again */
  | {kind: 'decide-rollback'; reason: string; by: string}
  /** ask this member's run to roll back (a request in its inbox, as `gray rollback` does) */
  | {kind: 'rollback'; service: string; reason: string}
  /** ask this member's run to go on to its completion (as `gray promote --full` does) */
  | {kind: 'complete'; service: string}
  /** nothing to do until one of the runs moves (a driver drives each run; a person may be needed) */
  | {kind: 'wait'; for: string; person?: boolean}
  | {kind: 'finish'; outcome: 'completed' | 'rolled_back' | 'failed'; reason: string}

/** The run waits for promote at its last step, not paused: a downstream run at its tag route, the entry at 100%. */
export function atLastHold(s: RunState): boolean {
  return holds(s) && !s.paused && s.stepIndex === s.steps.length - 1
}

function entryOf(view: ReleaseView): ReleaseMember {
  const entry = view.members.find((m) => m.entry)
  if (!entry) throw new Error('a release has an entry service')
  return entry
}

/** Why a member's run makes the release roll back: it rolled back, is rolling back, or failed. */
function failure(service: string, s: RunState): string | null {
  if (s.rollback) return `${service}: ${s.rollback.reason}`
  if (s.outcome === 'rolled_back' || s.outcome === 'failed') return `${service}: ${s.reason ?? s.outcome}`
  return null
}

export function nextReleaseAction(view: ReleaseView): ReleaseAction {
  const entry = entryOf(view)
  const started = view.members.flatMap((m) => {
    const run = view.runs[m.service]
    return run ? [{member: m, run}] : []
  })
  const completing = started.some(({run}) => run.completing || run.outcome === 'completed')

  if (!view.rollback) {
    for (const {member, run} of started) {
      const why = failure(member.service, run)
      if (why) return {kind: 'decide-rollback', reason: why, by: member.service}
    }
  }

  if (view.rollback) return rollBack(view, entry, started)

  // forward: start each member once the one before it holds at its tag route
  for (const [i, member] of view.members.entries()) {
    const run = view.runs[member.service]
    if (run) continue
    const before = view.members[i - 1]
    const previous = before ? view.runs[before.service] : undefined
    if (before && previous?.paused) return pausedWait(before.service, previous)
    if (before && !(previous && atLastHold(previous))) return {kind: 'wait', for: `${before.service} to hold at its tag route`}
    return {kind: 'start', service: member.service}
  }

  const entryRun = view.runs[entry.service] as RunState
  if (!completing) {
    const paused = started.find(({run}) => run.paused)
    if (paused) return pausedWait(paused.member.service, paused.run)
    if (!atLastHold(entryRun)) {
      if (holds(entryRun)) return {kind: 'wait', for: `a person: ${entry.service} waits at step ${entryRun.stepIndex + 1}`, person: true}
      return {kind: 'wait', for: `${entry.service} to step its weight`}
    }
    if (view.entryHoldsLast && !view.promoted) return {kind: 'wait', for: `a person: ${entry.service} waits at its last step`, person: true}
  }

  // complete downstream first, the entry last
  for (const member of view.members) {
    const run = view.runs[member.service] as RunState
    if (run.outcome === 'completed') continue
    if (!run.completing && !run.promote) return {kind: 'complete', service: member.service}
    return {kind: 'wait', for: `${member.service} to complete`}
  }
  return {kind: 'finish', outcome: 'completed', reason: `every service of the release runs its new version`}
}

function pausedWait(service: string, s: RunState): ReleaseAction {
  return {kind: 'wait', for: `a person: ${service} is paused (${s.paused?.reason ?? 'paused'})`, person: true}
}

function rollBack(view: ReleaseView, entry: ReleaseMember, started: Array<{member: ReleaseMember; run: RunState}>): ReleaseAction {
  const reason = (view.rollback as {reason: string}).reason
  const entryRun = view.runs[entry.service]
  // 1. the entry's traffic out of gray: nobody new meets a gray version anywhere
  if (entryRun && !isTerminal(entryRun)) {
    if (!entryRun.rollback) return {kind: 'rollback', service: entry.service, reason: `the release rolls back: ${reason}`}
    if (!rollbackTrafficDone(entryRun)) return {kind: 'wait', for: `${entry.service}'s traffic to leave gray`}
  }
  // 2. every downstream run: its routing, then its hosts (each run's own rollback does both)
  for (const {member, run} of [...started].reverse()) {
    if (member.entry || isTerminal(run) || run.rollback) continue
    return {kind: 'rollback', service: member.service, reason: `the release rolls back: ${reason}`}
  }
  return finishOnceSettled(started, reason)
}

function finishOnceSettled(started: Array<{member: ReleaseMember; run: RunState}>, reason: string): ReleaseAction {
  const moving = started.find(({run}) => !isTerminal(run))
  if (moving) return {kind: 'wait', for: `${moving.member.service} to end its ${moving.run.rollback ? 'rollback' : 'run'}`}
  const failed = started.find(({run}) => run.outcome === 'failed')
  if (failed) return {kind: 'finish', outcome: 'failed', reason: `${reason}; ${failed.member.service}: ${failed.run.reason ?? 'failed'}`}
  // a member that completed before the failure runs its new version as its stable one: a rollback cannot take it back
  const kept = started.filter(({run}) => run.outcome === 'completed').map(({member}) => member.service)
  if (kept.length > 0) return {kind: 'finish', outcome: 'failed', reason: `${reason}; ${kept.join(', ')} had completed and keep${kept.length === 1 ? 's' : ''} the new version`}
  return {kind: 'finish', outcome: 'rolled_back', reason}
}
