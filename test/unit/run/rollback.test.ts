import {describe, expect, it} from 'vitest'

import type {GrayConfig} from '../../../src/core/config/model.js'
import {nextAction} from '../../../src/core/run/next.js'
import {splitPolicy} from '../../../src/core/run/policy.js'
import {nextRollbackStep, type RollbackStep} from '../../../src/core/run/rollback.js'
import {testConfig} from '../../support/fakes.js'
import {HandJournal} from '../../support/journal.js'

const G1 = '10.0.0.11:8080'
const STABLE = ['10.0.0.21:8080', '10.0.0.22:8080', '10.0.0.23:8080']

/** a run at step 1 (1%, in force) whose gates just asked for a rollback */
function atStep(config: GrayConfig = testConfig(), previousVersion: string | null = 'v1'): HandJournal {
  const j = new HandJournal(config, 'v2', previousVersion)
  j.published(splitPolicy(config, j.state(), {weightBp: 0, rules: true, exclude: [G1]}), 'drain', -1)
  j.deployed([G1], 'v2', 'gray')
  j.add('step.started', {index: 0, weight: 1})
  j.published(splitPolicy(config, j.state(), {weightBp: 100, rules: true}), 'step', 0)
  j.add('rollback.started', {reason: 'gate errors failed', by: 'gates'})
  return j
}

function next(j: HandJournal): RollbackStep {
  return nextRollbackStep(j.state(), j.config)
}

/** journals what the driver does for `step`, as it would, so the next decision can be asked */
function carryOut(j: HandJournal, step: RollbackStep, ok = true): void {
  switch (step.kind) {
    case 'publish':
      j.published(step.policy, step.purpose, step.step)
      break
    case 'warn':
      j.add('rollback.warning', {message: step.message, about: step.about})
      break
    case 'deploy':
      j.deployed(
        step.hosts.map((h) => h.address),
        step.version,
        'revert',
        undefined,
        ok,
      )
      break
    case 'hook':
      j.add('hook.started', {stage: step.stage, key: step.key, weight: step.weightBp / 100})
      j.add('hook.ran', {stage: step.stage, key: step.key, ok: true, exitCode: 0, outputTail: [], durationMs: 1})
      break
    case 'rolled-back':
      j.add('run.rolled_back', {reason: step.reason, reverted: step.reverted, notReverted: step.notReverted})
      break
  }
}

describe('the rollback sequence, decided from the journal', () => {
  it('traffic to stable, then the gray hosts to the previous version, then the plain policy, then finish', () => {
    const j = atStep()
    const traffic = next(j)
    expect(traffic).toMatchObject({kind: 'publish', purpose: 'rollback', step: 0})
    if (traffic.kind !== 'publish') throw new Error('unreachable')
    expect(traffic.policy).toMatchObject({mode: 'split', weightBp: 0, rules: []})
    expect(traffic.policy.stable.map((h) => h.address)).toEqual(STABLE)
    carryOut(j, traffic)

    const revert = next(j)
    expect(revert).toMatchObject({kind: 'deploy', purpose: 'revert', version: 'v1'})
    if (revert.kind !== 'deploy') throw new Error('unreachable')
    expect(revert.hosts.map((h) => h.address)).toEqual([G1])
    carryOut(j, revert)

    const plain = next(j)
    expect(plain).toMatchObject({kind: 'publish', purpose: 'plain'})
    if (plain.kind !== 'publish') throw new Error('unreachable')
    expect(plain.policy).toMatchObject({mode: 'plain', weightBp: 0, rules: [], gray: []})
    expect(plain.policy.stable.map((h) => h.address)).toEqual([G1, ...STABLE])
    carryOut(j, plain)

    expect(next(j)).toEqual({kind: 'rolled-back', reason: 'gate errors failed', reverted: [G1], notReverted: []})
  })

  it('nextAction hands a rollback to the sequence, and is done once run.rolled_back is journaled', () => {
    const j = atStep()
    expect(nextAction(j.state(), j.config)).toEqual(next(j))
    for (let i = 0; i < 10 && !j.state().outcome; i++) carryOut(j, next(j))
    expect(j.state().outcome).toBe('rolled_back')
    expect(nextAction(j.state(), j.config)).toEqual({kind: 'done'})
  })

  it('a rollback requested while paused is carried out (the rollback wins over the pause)', () => {
    const config = testConfig()
    const j = new HandJournal(config)
    j.add('run.paused', {reason: 'paused by tester', cause: 'request'})
    expect(nextAction(j.state(), config)).toEqual({kind: 'hold', reason: 'paused by tester'})
    j.add('rollback.started', {reason: 'requested by tester', by: 'tester'})
    // nothing was published and no host deployed: no stable upstream is missing, so traffic goes first
    expect(nextAction(j.state(), config)).toMatchObject({kind: 'publish', purpose: 'rollback'})
  })

  it('runs the onRollback hook once, after the plain policy and before the finish', () => {
    const config = testConfig({hooks: {onRollback: ['notify'], timeoutMs: 1000}})
    const j = atStep(config)
    const kinds: string[] = []
    for (let i = 0; i < 10 && !j.state().outcome; i++) {
      const step = next(j)
      kinds.push(step.kind === 'publish' ? `publish:${step.purpose}` : step.kind)
      carryOut(j, step)
    }
    expect(kinds).toEqual(['publish:rollback', 'deploy', 'publish:plain', 'hook', 'rolled-back'])
  })

  it('runs the hook again when its driver died while it ran (hook.started, no hook.ran)', () => {
    const config = testConfig({hooks: {onRollback: ['notify'], timeoutMs: 1000}})
    const j = atStep(config)
    for (const kind of ['publish', 'deploy', 'publish']) {
      const step = next(j)
      expect(step.kind).toBe(kind)
      carryOut(j, step)
    }
    j.add('hook.started', {stage: 'onRollback', key: 'rollback', weight: 0})
    j.add('driver.attached', {epoch: 2, takeover: true, from: 'pid 1'})
    expect(next(j)).toEqual({kind: 'hook', stage: 'onRollback', key: 'rollback', weightBp: 0})
  })

  it('with no stable host in service, warns and reverts the hosts first', () => {
    const config = testConfig({hosts: {gray: [{name: 'g1', address: G1}], stable: []}})
    const j = atStep(config)
    const warn = next(j)
    expect(warn).toMatchObject({kind: 'warn', about: 'traffic'})
    expect(warn.kind === 'warn' && warn.message).toMatch(/no stable host runs the previous version/)
    carryOut(j, warn)
    expect(next(j)).toMatchObject({kind: 'deploy', purpose: 'revert', version: 'v1'})
  })

  it('with no previous version, warns that the hosts keep the new one, publishes no plain policy and reports them not reverted', () => {
    const j = atStep(testConfig(), null)
    carryOut(j, next(j))
    const warn = next(j)
    expect(warn).toMatchObject({kind: 'warn', about: 'hosts'})
    expect(warn.kind === 'warn' && warn.message).toMatch(/no previous version is known .* g1 keep running v2/)
    carryOut(j, warn)
    expect(next(j)).toEqual({kind: 'rolled-back', reason: 'gate errors failed', reverted: [], notReverted: [G1]})
  })

  it('a failed revert: one warning, no plain policy (traffic stays on stable), the host reported not reverted', () => {
    const j = atStep()
    carryOut(j, next(j))
    carryOut(j, next(j), false)
    const warn = next(j)
    expect(warn).toEqual({kind: 'warn', about: 'hosts', message: `could not revert ${G1} to v1`})
    carryOut(j, warn)
    expect(next(j)).toEqual({kind: 'rolled-back', reason: 'gate errors failed', reverted: [], notReverted: [G1]})
  })

  it('a rollback whose zero weight is already in force starts with the hosts', () => {
    const j = atStep()
    j.published(splitPolicy(j.config, j.state(), {weightBp: 0, rules: false}), 'rollback', 0)
    expect(next(j)).toMatchObject({kind: 'deploy', purpose: 'revert'})
  })
})

describe('a half-done rollback taken over by another driver', () => {
  const takeover = (j: HandJournal) => j.add('driver.attached', {epoch: 2, takeover: true, from: 'pid 1'})

  it('killed after rollback.started: traffic first', () => {
    const j = takeover(atStep())
    expect(next(j)).toMatchObject({kind: 'publish', purpose: 'rollback'})
  })

  it('killed between the rollback publish and its confirmation: publishes it again (a new revision)', () => {
    const j = atStep()
    const traffic = next(j)
    if (traffic.kind !== 'publish') throw new Error('unreachable')
    j.published(traffic.policy, 'rollback', 0, false)
    takeover(j)
    const again = next(j)
    expect(again).toMatchObject({kind: 'publish', purpose: 'rollback'})
    expect(again.kind === 'publish' && again.policy.revision).not.toBe(traffic.policy.revision)
  })

  it('killed during a revert deploy: the zero weight stays, the host is deployed the previous version again', () => {
    const j = atStep()
    carryOut(j, next(j))
    j.add('host.deploy.started', {host: G1, name: 'g1', version: 'v1', purpose: 'revert', attempt: 1})
    takeover(j)
    const step = next(j)
    expect(step).toMatchObject({kind: 'deploy', purpose: 'revert', version: 'v1'})
    expect(step.kind === 'deploy' && step.hosts.map((h) => h.address)).toEqual([G1])
  })

  it('a revert that failed before the takeover is tried again by the new driver', () => {
    const j = atStep()
    carryOut(j, next(j))
    carryOut(j, next(j), false)
    carryOut(j, next(j))
    takeover(j)
    expect(next(j)).toMatchObject({kind: 'deploy', purpose: 'revert', version: 'v1'})
  })

  it('killed after the revert: the plain policy next; the hosts reverted before the takeover are not reported again', () => {
    const j = atStep()
    carryOut(j, next(j))
    carryOut(j, next(j))
    takeover(j)
    const plain = next(j)
    expect(plain).toMatchObject({kind: 'publish', purpose: 'plain'})
    carryOut(j, plain)
    expect(next(j)).toEqual({kind: 'rolled-back', reason: 'gate errors failed', reverted: [], notReverted: []})
  })

  it('killed between the plain publish and its confirmation: the zero weight first, then the plain policy again', () => {
    const j = atStep()
    carryOut(j, next(j))
    carryOut(j, next(j))
    const plain = next(j)
    if (plain.kind !== 'publish') throw new Error('unreachable')
    j.published(plain.policy, 'plain', 0, false)
    takeover(j)
    const traffic = next(j)
    expect(traffic).toMatchObject({kind: 'publish', purpose: 'rollback'})
    carryOut(j, traffic)
    expect(next(j)).toMatchObject({kind: 'publish', purpose: 'plain'})
  })

  it('killed after the plain policy was confirmed: only the finish is left', () => {
    const j = atStep()
    for (let i = 0; i < 3; i++) carryOut(j, next(j))
    takeover(j)
    expect(next(j)).toMatchObject({kind: 'rolled-back', notReverted: []})
  })

  it('a traffic warning is given again by a driver that takes over (each pass starts from the top)', () => {
    const config = testConfig({hosts: {gray: [{name: 'g1', address: G1}], stable: []}})
    const j = atStep(config)
    carryOut(j, next(j))
    expect(next(j).kind).toBe('deploy')
    takeover(j)
    expect(next(j)).toMatchObject({kind: 'warn', about: 'traffic'})
  })
})
