// Guarded holds, decided from hand-written journals: what nextAction says at a pause or a step waiting for
// promote when the driver guards holds, and how guard measurements count.
import {describe, expect, it} from 'vitest'

import {nextAction, weightInForce} from '../../../src/core/run/next.js'
import {splitPolicy} from '../../../src/core/run/policy.js'
import {assessMeasurements} from '../../../src/core/run/escalation.js'
import {check, testConfig} from '../../support/fakes.js'
import {HandJournal} from '../../support/journal.js'

const G1 = '10.0.0.11:8080'

/** a run whose gray pool runs v2 and whose only step (a pause step, 50%) is published and waits for promote */
function waitingAt50() {
  const config = testConfig({steps: [{weight: 50, bakeMs: 0, pause: true}]})
  const j = new HandJournal(config)
  j.published(splitPolicy(config, j.state(), {weightBp: 0, rules: false, exclude: [G1]}), 'drain', -1)
  j.deployed([G1], 'v2', 'gray')
  j.add('step.started', {index: 0, weight: 50})
  j.published(splitPolicy(config, j.state(), {weightBp: 5000, rules: true}), 'step', 0)
  j.add('step.waiting', {index: 0})
  return {config, j}
}

const measured = (j: HandJournal, verdict: 'pass' | 'fail' | 'error', guard: boolean) =>
  j.add('gate.measured', {check: 'errors', step: 0, verdict, value: verdict === 'fail' ? 0.05 : 0.001, limit: 0.01, baseline: null, samples: 1000, reason: verdict, evaluatedAt: j.events.at(-1)!.at, windowMs: 30_000, raw: {}, ...(guard ? {guard: true} : {})})

describe('nextAction at a hold, guarding', () => {
  it('a step waiting for promote: without guarding the driver leaves (hold); guarding, it measures at the weight in force', () => {
    const {config, j} = waitingAt50()
    const s = j.state()
    expect(nextAction(s, config)).toEqual({kind: 'hold', reason: 'waiting for gray promote'})
    expect(nextAction(s, config, {guard: false})).toEqual({kind: 'hold', reason: 'waiting for gray promote'})
    expect(nextAction(s, config, {guard: true})).toEqual({kind: 'guard', reason: 'waiting for gray promote', weightBp: 5000, since: s.bakeStartedAt})
  })

  it('a pause guards under its own reason; promote or resume end the guard and the run advances', () => {
    const {config, j} = waitingAt50()
    j.add('run.paused', {reason: 'paused by oncall', cause: 'request'})
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'guard', reason: 'paused by oncall', weightBp: 5000})
    j.add('run.resumed', {by: 'oncall'})
    // resumed, the step still waits for promote: guarded again
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'guard', reason: 'waiting for gray promote'})
    j.add('run.promoted', {full: false, by: 'oncall'})
    expect(nextAction(j.state(), config, {guard: true})).toEqual({kind: 'pass-by-promote', index: 0})
  })

  it('paused before any traffic reaches gray: nothing to guard, and the action says why', () => {
    const config = testConfig()
    const j = new HandJournal(config)
    j.published(splitPolicy(config, j.state(), {weightBp: 0, rules: false, exclude: [G1]}), 'drain', -1)
    j.add('run.paused', {reason: 'interrupted by SIGTERM', cause: 'signal'})
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'guard', weightBp: 0, unmeasured: 'no traffic reaches gray (0%)'})
  })

  it('no gates configured: nothing to measure either', () => {
    const {j} = waitingAt50()
    const config = testConfig({steps: [{weight: 50, bakeMs: 0, pause: true}], gates: undefined})
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'guard', weightBp: 5000, unmeasured: 'no gates are configured'})
  })

  it('a rollback, once begun, is never guarded: the rollback sequence goes on', () => {
    const {config, j} = waitingAt50()
    j.add('rollback.started', {reason: 'gate errors failed', by: 'gates'})
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'publish', purpose: 'rollback'})
  })

  it('the weight in force counts a publish whose confirmation is pending: the gateway may serve it already', () => {
    const config = testConfig()
    const j = new HandJournal(config)
    j.published(splitPolicy(config, j.state(), {weightBp: 0, rules: false, exclude: [G1]}), 'drain', -1)
    j.deployed([G1], 'v2', 'gray')
    j.add('step.started', {index: 0, weight: 1})
    j.published(splitPolicy(config, j.state(), {weightBp: 100, rules: true}), 'step', 0, false)
    j.add('run.paused', {reason: 'gateway did not take the policy: timeout', cause: 'gateway'})
    expect(weightInForce(j.state())).toBe(100)
    expect(nextAction(j.state(), config, {guard: true})).toMatchObject({kind: 'guard', weightBp: 100})
  })
})

describe('guard measurements in the replayed state', () => {
  it("a guard's pass never counts towards minPasses, but resets the consecutive fails", () => {
    const {j} = waitingAt50()
    measured(j, 'pass', true)
    measured(j, 'pass', true)
    expect(j.state().gates.errors).toMatchObject({passes: 0, consecutiveFails: 0})
    measured(j, 'fail', true)
    expect(j.state().gates.errors).toMatchObject({passes: 0, consecutiveFails: 1})
    measured(j, 'pass', true)
    expect(j.state().gates.errors).toMatchObject({passes: 0, consecutiveFails: 0})
  })

  it('consecutive fails run on from the bake into the guard at the same step: a fail at the end of the bake and one while waiting roll back', () => {
    const {j} = waitingAt50()
    // the bake's last round failed once (the step had its passes), then the step waited
    measured(j, 'fail', false)
    measured(j, 'fail', true)
    const gates = j.state().gates
    expect(gates.errors?.consecutiveFails).toBe(2)
    expect(assessMeasurements([{check: check(), judgement: {}}], gates)).toMatchObject({action: 'rollback', reason: expect.stringMatching(/2 consecutive fails/)})
  })

  it('the journaled guard describes the hold until it changes: a new pause, a resume, a promote or a new driver ends it', () => {
    const {j} = waitingAt50()
    j.add('driver.guarding', {reason: 'waiting for gray promote', weightBp: 5000, intervalMs: 30_000})
    expect(j.state().guarding).toMatchObject({reason: 'waiting for gray promote', weightBp: 5000, intervalMs: 30_000, unmeasured: null})
    measured(j, 'pass', true)
    j.add('request.received', {id: 'r1', kind: 'pause', by: 'oncall', requestedAt: j.events.at(-1)!.at})
    expect(j.state().guarding).not.toBeNull()
    j.add('run.paused', {reason: 'paused by oncall', cause: 'request'})
    expect(j.state().guarding).toBeNull()
    j.add('driver.guarding', {reason: 'paused by oncall', weightBp: 5000, intervalMs: 30_000})
    j.add('driver.attached', {epoch: 2, takeover: true, from: 'x'})
    expect(j.state().guarding).toBeNull()
  })
})
