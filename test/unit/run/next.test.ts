import {describe, expect, it} from 'vitest'

import type {GrayConfig} from '../../../src/core/config/model.js'
import {nextAction, type Action} from '../../../src/core/run/next.js'
import {testConfig} from '../../support/fakes.js'
import {HandJournal} from '../../support/journal.js'

const G1 = '10.0.0.11:8080'
const [S1, S2, S3] = ['10.0.0.21:8080', '10.0.0.22:8080', '10.0.0.23:8080']
const addresses = (hosts: ReadonlyArray<{address: string}>) => hosts.map((h) => h.address)

/** journals what a driver whose every side effect succeeds would journal for `action` */
function carryOut(j: HandJournal, action: Action, options: {failDeploy?: string[]} = {}): void {
  switch (action.kind) {
    case 'publish':
      j.published(action.policy, action.purpose, action.step)
      break
    case 'deploy': {
      const failing = action.hosts.filter((h) => options.failDeploy?.includes(h.address))
      j.deployed(addresses(action.hosts.filter((h) => !failing.includes(h))), action.version, action.purpose, action.step)
      j.deployed(addresses(failing), action.version, action.purpose, action.step, false)
      for (const h of failing) j.add('host.abandoned', {host: h.address, name: h.name, version: action.version, error: 'exit 1'})
      break
    }
    case 'hook':
      j.add('hook.started', {stage: action.stage, key: action.key, step: action.step, weight: action.weightBp / 100})
      j.add('hook.ran', {stage: action.stage, key: action.key, ok: true, exitCode: 0, outputTail: [], durationMs: 1})
      break
    case 'start-step':
      j.add('step.started', {index: action.index, weight: action.weightBp / 100})
      break
    case 'bake':
      j.add('step.passed', {index: action.index, by: 'gates'})
      break
    case 'pass-by-promote':
      j.add('step.passed', {index: action.index, by: 'promote'})
      break
    case 'wait':
      j.add('step.waiting', {index: action.index})
      break
    case 'begin-completion':
      j.add('run.completing', {hosts: addresses(action.hosts)})
      break
    case 'finish':
      j.add('run.completed', {version: action.version, failedHosts: action.failedHosts})
      break
    default:
      throw new Error(`not carried out here: ${action.kind}`)
  }
}

/** runs the pure engine until `stop` says so (or the run ends), collecting the actions */
function run(config: GrayConfig, stop: (a: Action) => boolean = () => false, options: {failDeploy?: string[]} = {}): {j: HandJournal; actions: Action[]} {
  const j = new HandJournal(config)
  const actions: Action[] = []
  for (let i = 0; i < 200; i++) {
    const action = nextAction(j.state(), config)
    actions.push(action)
    if (action.kind === 'done' || action.kind === 'hold' || stop(action)) break
    carryOut(j, action, options)
  }
  return {j, actions}
}

const publishes = (actions: Action[]) => actions.filter((a): a is Extract<Action, {kind: 'publish'}> => a.kind === 'publish')

describe('nextAction: every action carries what the driver needs to carry it out', () => {
  it('the first publish takes the gray pool out of service: weight 0, no rules, the gray hosts excluded', () => {
    const {actions} = run(testConfig(), (a) => a.kind === 'publish')
    const first = actions[0]
    expect(first).toMatchObject({kind: 'publish', purpose: 'drain', step: -1})
    if (first?.kind !== 'publish') throw new Error('unreachable')
    expect(first.policy).toMatchObject({mode: 'split', weightBp: 0, rules: [], gray: [], revision: 'run-1.3'})
    expect(addresses(first.policy.stable)).toEqual([S1, S2, S3])
  })

  it('the gray pool is deployed the run version, then step 1 starts with its weight in basis points', () => {
    const {actions} = run(testConfig(), (a) => a.kind === 'start-step')
    expect(actions[1]).toMatchObject({kind: 'deploy', purpose: 'gray', version: 'v2'})
    expect(actions[1]?.kind === 'deploy' && addresses(actions[1].hosts)).toEqual([G1])
    expect(actions.at(-1)).toEqual({kind: 'start-step', index: 0, weightBp: 100})
  })

  it("a step's publish carries its policy: the step's weight in basis points, the rules, each upstream", () => {
    const config = testConfig({steps: [{weight: 33.33, bakeMs: 1000, pause: false}]})
    const {actions} = run(config, (a) => a.kind === 'publish' && a.purpose === 'step')
    const step = actions.at(-1)
    expect(step).toMatchObject({kind: 'publish', purpose: 'step', step: 0})
    if (step?.kind !== 'publish') throw new Error('unreachable')
    expect(step.policy).toMatchObject({mode: 'split', weightBp: 3333, rules: config.traffic.rules, sticky: config.traffic.sticky})
    expect(addresses(step.policy.gray)).toEqual([G1])
    expect(addresses(step.policy.stable)).toEqual([S1, S2, S3])
  })

  it('the bake carries the step and the weight it measures under', () => {
    const {actions} = run(testConfig(), (a) => a.kind === 'bake' && a.index === 2)
    expect(actions.filter((a) => a.kind === 'bake')).toEqual([
      {kind: 'bake', index: 0, weightBp: 100},
      {kind: 'bake', index: 1, weightBp: 1000},
      {kind: 'bake', index: 2, weightBp: 5000},
    ])
  })

  it('a step that converts stable hosts drains them at the weight in force, then deploys them', () => {
    const config = testConfig({
      steps: [
        {weight: 10, bakeMs: 1000, pause: false},
        {weight: 50, bakeMs: 1000, pause: false, hosts: {count: 1}},
      ],
    })
    const {actions} = run(config, (a) => a.kind === 'deploy' && a.purpose === 'step')
    const drain = publishes(actions).filter((a) => a.purpose === 'drain').at(-1)
    expect(drain).toMatchObject({step: 1, policy: {weightBp: 1000, rules: config.traffic.rules}})
    expect(addresses(drain!.policy.stable)).toEqual([S2, S3])
    expect(addresses(drain!.policy.gray)).toEqual([G1])
    expect(actions.at(-1)).toMatchObject({kind: 'deploy', purpose: 'step', step: 1, version: 'v2'})
    expect(actions.at(-1)?.kind === 'deploy' && addresses((actions.at(-1) as Extract<Action, {kind: 'deploy'}>).hosts)).toEqual([S1])
  })

  it('a pause step without a bake waits at once; a held run says why', () => {
    const config = testConfig({steps: [{weight: 5, bakeMs: 0, pause: true}]})
    const {j, actions} = run(config)
    expect(actions.at(-2)).toEqual({kind: 'wait', index: 0})
    expect(actions.at(-1)).toEqual({kind: 'hold', reason: 'waiting for gray promote'})
    j.add('run.paused', {reason: 'paused by tester', cause: 'request'})
    expect(nextAction(j.state(), config)).toEqual({kind: 'hold', reason: 'paused by tester'})
    j.add('run.promoted', {full: false, by: 'tester'})
    expect(nextAction(j.state(), config)).toEqual({kind: 'pass-by-promote', index: 0})
  })

  it('completion: all traffic to gray without rules, the rest of the hosts a batch at a time, the plain policy, then the finish', () => {
    const config = testConfig({steps: [{weight: 1, bakeMs: 1000, pause: false}, {weight: 50, bakeMs: 1000, pause: false}]})
    const {actions} = run(config)
    const completing = actions.slice(actions.findIndex((a) => a.kind === 'begin-completion'))
    expect(completing.map((a) => (a.kind === 'publish' ? `publish:${a.purpose}:${a.policy.mode}:${a.policy.weightBp}` : a.kind))).toEqual([
      'begin-completion',
      'publish:complete:split:10000',
      'deploy',
      'deploy',
      'deploy',
      'publish:complete:plain:0',
      'finish',
      'done',
    ])
    const [full, plain] = publishes(completing)
    expect(full!.policy.rules).toEqual([])
    expect(addresses(plain!.policy.stable)).toEqual([G1, S1, S2, S3])
    expect(completing.find((a) => a.kind === 'deploy')).toMatchObject({purpose: 'complete', version: 'v2'})
    expect(completing.at(-2)).toEqual({kind: 'finish', version: 'v2', failedHosts: []})
  })

  it('a host left behind in the completion takes no traffic in the plain policy and is named in the finish', () => {
    const config = testConfig({deploy: {...testConfig().deploy, maxFailPercent: 50}})
    const {actions} = run(config, () => false, {failDeploy: [S3]})
    const plain = publishes(actions).at(-1)
    expect(plain?.policy.mode).toBe('plain')
    expect(addresses(plain!.policy.stable)).toEqual([G1, S1, S2])
    expect(actions.at(-2)).toEqual({kind: 'finish', version: 'v2', failedHosts: [S3]})
  })

  it('hooks carry their moment: a traffic hook the weight about to be published, a deploy hook the weight in force', () => {
    const config = testConfig({
      steps: [{weight: 1, bakeMs: 1000, pause: false}, {weight: 10, bakeMs: 1000, pause: false}],
      hooks: {beforeTraffic: ['t'], beforeDeploy: ['d'], timeoutMs: 1000},
    })
    const {actions} = run(config)
    const hooks = actions.filter((a): a is Extract<Action, {kind: 'hook'}> => a.kind === 'hook')
    expect(hooks.map((h) => `${h.stage}:${h.key}:${h.weightBp}`)).toEqual([
      'beforeDeploy:gray:0',
      'beforeTraffic:step-0:100',
      'beforeTraffic:step-1:1000',
      'beforeTraffic:complete:10000',
      'beforeDeploy:complete:10000',
      'beforeTraffic:plain:10000',
    ])
    expect(hooks.find((h) => h.key === 'step-1')).toMatchObject({step: 1})
  })
})
