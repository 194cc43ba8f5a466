// The release conductor (src/core/release/conduct.ts) walked through whole
// releases of edge → api → data: each member's run as replay would give it.
import {describe, expect, test} from 'vitest'
import {nextReleaseAction, type ReleaseView} from '../../../src/core/release/conduct.js'
import type {RunState} from '../../../src/core/run/state.js'

const MEMBERS = [
  {service: 'data', entry: false},
  {service: 'api', entry: false},
  {service: 'edge', entry: true},
]

const tagRoute = [{weight: 0, bakeMs: 0, pause: true}]
const entrySteps = [
  {weight: 1, bakeMs: 60_000, pause: false},
  {weight: 10, bakeMs: 60_000, pause: true},
  {weight: 100, bakeMs: 60_000, pause: true},
]

function run(service: string, over: Partial<RunState> = {}): RunState {
  return {
    runId: `r-${service}`,
    service,
    version: 'v2',
    previousVersion: 'v1',
    steps: service === 'edge' ? entrySteps : tagRoute,
    checks: [],
    cohortSeed: null,
    startedAt: '2026-12-04T10:00:00Z',
    updatedAt: '2026-12-04T10:00:00Z',
    lastSeq: 1,
    status: 'deploying',
    stepIndex: -1,
    stepStartedAt: null,
    bakeStartedAt: null,
    stepPassed: false,
    waiting: false,
    promote: null,
    paused: null,
    rollback: null,
    rollbackPass: {confirmed: [], warned: [], reverting: []},
    warnings: [],
    completing: false,
    outcome: null,
    reason: null,
    intended: null,
    applied: null,
    publishPending: false,
    hosts: [],
    deployedPhases: [],
    hooks: {},
    gates: {},
    driver: null,
    guarding: null,
    ...over,
  }
}

/** a run waiting for promote at its last step: a downstream run at its tag route, the entry at 100% */
const atLast = (service: string, over: Partial<RunState> = {}) => {
  const steps = service === 'edge' ? entrySteps : tagRoute
  return run(service, {status: 'waiting', stepIndex: steps.length - 1, waiting: true, stepPassed: true, ...over})
}
const rollingBack = (service: string, over: Partial<RunState> = {}) =>
  run(service, {status: 'rolling_back', rollback: {reason: 'gate errors failed', by: 'gate', at: '2026-12-04T10:05:00Z'}, ...over})
const ended = (service: string, outcome: 'completed' | 'rolled_back' | 'failed') => run(service, {status: outcome, outcome, reason: outcome === 'completed' ? null : 'gate errors failed'})

function view(runs: Partial<Record<'data' | 'api' | 'edge', RunState>>, over: Partial<ReleaseView> = {}): ReleaseView {
  return {members: MEMBERS, runs, rollback: null, entryHoldsLast: false, promoted: false, ...over}
}

describe('a release goes forward', () => {
  test('the services start in deploy order, each once the one before holds at its tag route', () => {
    expect(nextReleaseAction(view({}))).toEqual({kind: 'start', service: 'data'})
    expect(nextReleaseAction(view({data: run('data')}))).toEqual({kind: 'wait', for: 'data to hold at its tag route'})
    expect(nextReleaseAction(view({data: atLast('data')}))).toEqual({kind: 'start', service: 'api'})
    expect(nextReleaseAction(view({data: atLast('data'), api: run('api', {status: 'running', stepIndex: 0})}))).toEqual({kind: 'wait', for: 'api to hold at its tag route'})
    expect(nextReleaseAction(view({data: atLast('data'), api: atLast('api')}))).toEqual({kind: 'start', service: 'edge'})
  })

  test('a paused member waits for a person, and the next one does not start', () => {
    const paused = run('data', {status: 'paused', paused: {reason: 'deploy of 10.0.0.9 failed', cause: 'deploy'}})
    expect(nextReleaseAction(view({data: paused}))).toEqual({kind: 'wait', for: 'a person: data is paused (deploy of 10.0.0.9 failed)', person: true})
    const later = view({data: atLast('data'), api: atLast('api', {status: 'paused', paused: {reason: 'hook beforeStep failed', cause: 'hook'}}), edge: run('edge', {status: 'baking', stepIndex: 0})})
    expect(nextReleaseAction(later)).toEqual({kind: 'wait', for: 'a person: api is paused (hook beforeStep failed)', person: true})
  })

  test('the entry steps its weight; a pause of its own before the last step waits for a person', () => {
    const downstream = {data: atLast('data'), api: atLast('api')}
    expect(nextReleaseAction(view({...downstream, edge: run('edge', {status: 'baking', stepIndex: 0})}))).toEqual({kind: 'wait', for: 'edge to step its weight'})
    expect(nextReleaseAction(view({...downstream, edge: run('edge', {status: 'waiting', stepIndex: 1, waiting: true})}))).toEqual({
      kind: 'wait',
      for: 'a person: edge waits at step 2',
      person: true,
    })
  })

  test('at 100% the services complete downstream first, the entry last', () => {
    let runs: Partial<Record<'data' | 'api' | 'edge', RunState>> = {data: atLast('data'), api: atLast('api'), edge: atLast('edge')}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'complete', service: 'data'})
    runs = {...runs, data: atLast('data', {promote: {full: true}})}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'wait', for: 'data to complete'})
    runs = {...runs, data: run('data', {status: 'running', completing: true})}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'wait', for: 'data to complete'})
    runs = {...runs, data: ended('data', 'completed')}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'complete', service: 'api'})
    runs = {...runs, api: ended('api', 'completed')}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'complete', service: 'edge'})
    runs = {...runs, edge: ended('edge', 'completed')}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'finish', outcome: 'completed', reason: 'every service of the release runs its new version'})
  })

  test("the entry's last step a pause of the person's own: the release completes only once they promote it", () => {
    const runs = {data: atLast('data'), api: atLast('api'), edge: atLast('edge')}
    expect(nextReleaseAction(view(runs, {entryHoldsLast: true}))).toEqual({kind: 'wait', for: 'a person: edge waits at its last step', person: true})
    expect(nextReleaseAction(view(runs, {entryHoldsLast: true, promoted: true}))).toEqual({kind: 'complete', service: 'data'})
  })
})

describe('one release, one fate', () => {
  test("a member's gate failing anywhere makes the release decide to roll back, naming it", () => {
    const runs = {data: atLast('data'), api: rollingBack('api'), edge: run('edge', {status: 'baking', stepIndex: 1})}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'decide-rollback', reason: 'api: gate errors failed', by: 'api'})
  })

  test("the entry's traffic leaves gray first; only then are the downstream runs rolled back, the nearer hop first", () => {
    const rollback = {reason: 'api: gate errors failed', by: 'api'}
    const because = 'the release rolls back: api: gate errors failed'
    let runs: Partial<Record<'data' | 'api' | 'edge', RunState>> = {data: atLast('data'), api: rollingBack('api'), edge: run('edge', {status: 'baking', stepIndex: 1})}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'rollback', service: 'edge', reason: because})
    runs = {...runs, edge: rollingBack('edge')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'wait', for: "edge's traffic to leave gray"})
    runs = {...runs, edge: rollingBack('edge', {rollbackPass: {confirmed: ['rollback'], warned: [], reverting: []}})}
    // api rolls back by itself already; data is asked to
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'rollback', service: 'data', reason: because})
    runs = {...runs, data: rollingBack('data')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'wait', for: 'data to end its rollback'})
    runs = {data: ended('data', 'rolled_back'), api: ended('api', 'rolled_back'), edge: ended('edge', 'rolled_back')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'finish', outcome: 'rolled_back', reason: 'api: gate errors failed'})
  })

  test('a gray weight of zero already in force counts as traffic out of gray', () => {
    const rollback = {reason: 'a person asked', by: 'release'}
    const zero = {revision: 'r9', weightBp: 0, mode: 'split' as const, purpose: 'rollback' as const, step: 1, at: '2026-12-04T10:06:00Z', stable: [], gray: []}
    const runs = {data: atLast('data'), api: atLast('api'), edge: rollingBack('edge', {applied: zero})}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'rollback', service: 'api', reason: 'the release rolls back: a person asked'})
  })

  test('a rollback before the entry started rolls the started services back at once', () => {
    const rollback = {reason: 'data: deploy of 10.0.0.9 failed', by: 'data'}
    const runs = {data: rollingBack('data'), api: atLast('api')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'rollback', service: 'api', reason: 'the release rolls back: data: deploy of 10.0.0.9 failed'})
  })

  test('a member that failed (it could not roll back) makes the release end failed, once every run has ended', () => {
    const rollback = {reason: 'edge: gate crashes failed', by: 'edge'}
    const runs = {data: ended('data', 'failed'), api: ended('api', 'rolled_back'), edge: ended('edge', 'rolled_back')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'finish', outcome: 'failed', reason: 'edge: gate crashes failed; data: gate errors failed'})
  })

  test('a failure after the release began to complete: the rest is rolled back, and the release fails naming what it could not take back', () => {
    let runs: Partial<Record<'data' | 'api' | 'edge', RunState>> = {data: ended('data', 'completed'), api: rollingBack('api'), edge: atLast('edge')}
    expect(nextReleaseAction(view(runs))).toEqual({kind: 'decide-rollback', reason: 'api: gate errors failed', by: 'api'})
    const rollback = {reason: 'api: gate errors failed', by: 'api'}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'rollback', service: 'edge', reason: 'the release rolls back: api: gate errors failed'})
    runs = {...runs, api: ended('api', 'rolled_back'), edge: ended('edge', 'rolled_back')}
    expect(nextReleaseAction(view(runs, {rollback}))).toEqual({kind: 'finish', outcome: 'failed', reason: 'api: gate errors failed; data had completed and keeps the new version'})
  })
})
