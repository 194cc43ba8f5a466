// A run of kind config in the engine: no hosts, so the steps are publishes alone; every policy
// carries the release's frozen facts; the completion's plain policy promotes, the rollback's
// drops the gray value, with or without a previous version.
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import type {GrayConfig} from '../../../src/core/config/model.js'
import type {ReleaseBase} from '../../../src/core/ports.js'
import {nextAction} from '../../../src/core/run/next.js'
import {HandJournal} from '../../support/journal.js'

const BASE: ReleaseBase = {
  store: 'etcd',
  key: '/app/f.json',
  grayKey: '/app/f.json.gray',
  policyKey: '/app/f.json.gray-policy',
  valueSha256: 'a'.repeat(64),
  valueBytes: 10,
  officialModRevision: '7',
  officialSha256: 'b'.repeat(64),
}

function configRun(extra: Record<string, unknown> = {}): GrayConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-config-run-'))
  return configFromObject(
    {
      service: 'flags',
      kind: 'config',
      config: {store: 'etcd', endpoints: ['http://127.0.0.1:2379'], key: '/app/f.json', value: {file: 'new.json'}, ...extra},
      steps: [{weight: 10, bake: '1m'}, {weight: 50, pause: true}],
    },
    path.join(dir, 'gray.yaml'),
  )
}

function journal(config: GrayConfig, previousVersion: string | null = null): HandJournal {
  const j = new HandJournal(config, 'c2', previousVersion)
  ;(j.events[0] as {data: Record<string, unknown>}).data.release = BASE
  return j
}

describe('gray.yaml of kind config', () => {
  it('becomes a run with no hosts whose gateway is the config store, keys defaulted beside the official one', () => {
    const config = configRun()
    expect(config.kind).toBe('config')
    expect(config.hosts).toEqual({stable: [], gray: []})
    expect(config.gateway).toMatchObject({type: 'config', store: 'etcd', key: '/app/f.json', grayKey: '/app/f.json.gray', policyKey: '/app/f.json.gray-policy', timeoutMs: 5000})
    expect((config.gateway as {valueFile: string}).valueFile).toBe(path.join(path.dirname(config.file), 'new.json'))
  })

  it('refuses hosts, a gray key that is the official one, and a username without a password', () => {
    expect(() => configFromObject({service: 'f', kind: 'config', hosts: {stable: ['a:1'], gray: ['b:1']}, config: {store: 'etcd', endpoints: ['http://e:2379'], key: '/k', value: {file: 'v'}}}, '/tmp/g.yaml')).toThrow(
      /hosts: must be a known key/,
    )
    expect(() => configRun({grayKey: '/app/f.json'})).toThrow(/config\.grayKey: must differ from key/)
    expect(() => configRun({username: 'gray'})).toThrow(/config\.password: must be set too/)
  })

  it('treats config.password as a credential: a short one is refused, not masked', () => {
    expect(() => configRun({username: 'gray', password: 'short'})).toThrow(/config\.password: must be at least 8 characters/)
  })

  it('the template in templates/config-reader is a valid config run', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-config-template-'))
    writeFileSync(path.join(dir, 'feature.json'), '{}')
    const config = configFromObject(parse(readFileSync('templates/config-reader/gray.yaml', 'utf8')), path.join(dir, 'gray.yaml'))
    expect(config).toMatchObject({kind: 'config', service: 'checkout-flags', gateway: {type: 'config', key: '/app/checkout/feature.json'}})
  })
})

describe('the engine on a config run', () => {
  it('publishes each step with the frozen release, and completes with a plain policy that promotes', () => {
    const config = configRun()
    const j = journal(config)
    expect(nextAction(j.state(), config)).toEqual({kind: 'start-step', index: 0, weightBp: 1000})
    j.add('step.started', {index: 0, weight: 10})
    const step = nextAction(j.state(), config)
    expect(step).toMatchObject({kind: 'publish', purpose: 'step', policy: {mode: 'split', weightBp: 1000, release: {valueSha256: BASE.valueSha256, officialModRevision: '7', promote: false}}})
    if (step.kind !== 'publish') throw new Error('expected a publish')
    j.published(step.policy, 'step', 0).add('step.passed', {index: 0, by: 'gates'}).add('step.started', {index: 1, weight: 50})
    const second = nextAction(j.state(), config)
    if (second.kind !== 'publish') throw new Error('expected a publish')
    j.published(second.policy, 'step', 1)
    expect(nextAction(j.state(), config)).toEqual({kind: 'wait', index: 1})
    j.add('step.waiting', {index: 1}).add('run.promoted', {full: false, by: 'me'}).add('step.passed', {index: 1, by: 'promote'})
    expect(nextAction(j.state(), config)).toEqual({kind: 'begin-completion', hosts: []})
    j.add('run.completing', {hosts: []})
    const plain = nextAction(j.state(), config)
    expect(plain).toMatchObject({kind: 'publish', purpose: 'complete', policy: {mode: 'plain', release: {promote: true, officialModRevision: '7'}}})
    if (plain.kind !== 'publish') throw new Error('expected a publish')
    j.published(plain.policy, 'complete', 1)
    expect(nextAction(j.state(), config)).toEqual({kind: 'finish', version: 'c2', failedHosts: []})
  })

  it('rolls back without a previous version: weight 0, then the plain policy that drops the gray value, then done', () => {
    const config = configRun()
    const j = journal(config, null)
    j.add('step.started', {index: 0, weight: 10})
    const step = nextAction(j.state(), config)
    if (step.kind !== 'publish') throw new Error('expected a publish')
    j.published(step.policy, 'step', 0).add('rollback.started', {reason: 'gate config-errors failed', by: 'gates'})
    const zero = nextAction(j.state(), config)
    expect(zero).toMatchObject({kind: 'publish', purpose: 'rollback', policy: {mode: 'split', weightBp: 0, rules: [], release: {promote: false}}})
    if (zero.kind !== 'publish') throw new Error('expected a publish')
    j.published(zero.policy, 'rollback', 0)
    const plain = nextAction(j.state(), config)
    expect(plain).toMatchObject({kind: 'publish', purpose: 'plain', policy: {mode: 'plain', release: {promote: false}}})
    if (plain.kind !== 'publish') throw new Error('expected a publish')
    j.published(plain.policy, 'plain', 0)
    expect(nextAction(j.state(), config)).toMatchObject({kind: 'rolled-back', reverted: [], notReverted: []})
  })
})
