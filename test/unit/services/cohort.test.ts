import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import {inGray} from '../../../src/core/policy/hash.js'
import {xxh32} from '../../../src/core/policy/xxh32.js'
import {runStarted} from '../../../src/core/run/begin.js'
import {cohortOf} from '../../../src/services/cohort.js'
import {contextOf} from '../../../src/services/context.js'
import {JournalFile} from '../../../src/state/journal.js'
import {testActor} from '../../support/fakes.js'

/** `rotate: false` unless told: these users' buckets are the key's alone */
function ctx(gateway: Record<string, unknown> = {type: 'sandbox'}, rotate = false) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-cohort-'))
  const config = configFromObject(
    {
      service: 'shop',
      hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
      deploy: {command: ['true']},
      gateway,
      traffic: {sticky: 'cookie:uid', rules: [{header: 'X-Gray', equals: '1'}, {ip: ['10.9.0.0/16']}], rotate},
    },
    path.join(dir, 'gray.yaml'),
  )
  return contextOf(config)
}

describe('gray cohort', () => {
  it("behind HAProxy answers with HAProxy's own buckets, xxh32(key) mod 10000", async () => {
    const c = ctx({type: 'haproxy', fragment: '/etc/haproxy/gray/shop.cfg'})
    for (const uid of ['u0', 'u4', 'u42', 'alice']) {
      const answer = await cohortOf(c, [`uid=${uid}`])
      const bucket = xxh32(Buffer.from(uid)) % 10_000
      expect(answer.bucket).toBe(bucket)
      expect(answer.steps.map((s) => s.target)).toEqual([1, 10, 50, 100].map((w) => (bucket < w * 100 ? 'gray' : 'stable')))
    }
    // the two gateways place at least one of these users differently: the hash is the gateway's own
    const nginx = ctx()
    const differ = await Promise.all(['u0', 'u4', 'u42', 'alice'].map(async (uid) => (await cohortOf(nginx, [`uid=${uid}`])).bucket !== xxh32(Buffer.from(uid)) % 10_000))
    expect(differ.some(Boolean)).toBe(true)
  })

  it('answers per step with the same buckets as nginx split_clients, and never moves a user out of gray as the weight grows', async () => {
    const c = ctx()
    for (const uid of ['u1', 'u42', 'u999', 'alice']) {
      const answer = await cohortOf(c, [`uid=${uid}`])
      expect(answer.steps.map((s) => s.target)).toEqual([1, 10, 50, 100].map((w) => (inGray(uid, w * 100) || w === 100 ? 'gray' : 'stable')))
      const firstGray = answer.steps.findIndex((s) => s.target === 'gray')
      expect(answer.steps.slice(firstGray).every((s) => s.target === 'gray')).toBe(true)
      expect(answer.now).toBeNull()
    }
  })

  it('names the rule that sends a request to gray, and says when there is no key', async () => {
    const c = ctx()
    const byHeader = await cohortOf(c, ['header:X-Gray=1'])
    expect(byHeader.steps[0]).toMatchObject({target: 'gray', why: expect.stringContaining('traffic.rules[0]')})
    const byIp = await cohortOf(c, ['ip=10.9.3.4'])
    expect(byIp.steps[0]!.why).toContain('traffic.rules[1]')
    const none = await cohortOf(c, ['header:X-Other=1'])
    expect(none.steps[0]).toMatchObject({target: 'stable', why: expect.stringContaining('no sticky key')})
  })

  it('reports where the user is now from the run the journal describes', async () => {
    const c = ctx()
    await c.store.ensureDirs()
    const j = await JournalFile.open(c.store.runPath('20261122T000000000Z-aaaaaa'), {actor: testActor, create: true})
    await j.append('run.started', runStarted(c.config, 'r', 'v2', 'v1') as never)
    await j.append('step.started', {index: 2, weight: 50})
    await j.append('gateway.publish.started', {revision: 'r.3', weightBp: 5000, mode: 'split', purpose: 'step', step: 2, rules: 2, gray: [], stable: []})
    await j.append('gateway.publish.confirmed', {revision: 'r.3', weightBp: 5000, mode: 'split', purpose: 'step', step: 2})
    await j.close()
    const uid = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].find((u) => inGray(u, 5000))!
    const answer = await cohortOf(c, [`uid=${uid}`])
    expect(answer.now).toMatchObject({state: 'baking', weight: 50, target: 'gray'})
  })

  it("under traffic.rotate answers with the unfinished run's cohort seed, and before a run says the next seed is not chosen yet", async () => {
    const c = ctx({type: 'haproxy', fragment: '/etc/haproxy/gray/shop.cfg'}, true)
    const before = await cohortOf(c, ['uid=u42'])
    expect(before).toMatchObject({seed: null, seedPending: true, bucket: null})
    expect(before.steps.map((s) => s.target)).toEqual(['unknown', 'unknown', 'unknown', 'gray'])
    // a rule decides without the hash
    expect((await cohortOf(c, ['uid=u42', 'header:X-Gray=1'])).steps.map((s) => s.target)).toEqual(['gray', 'gray', 'gray', 'gray'])
    await c.store.ensureDirs()
    const j = await JournalFile.open(c.store.runPath('20261122T000000000Z-aaaaaa'), {actor: testActor, create: true})
    await j.append('run.started', runStarted(c.config, 'r', 'v2', 'v1', '0badf00d') as never)
    await j.append('step.started', {index: 1, weight: 10})
    await j.append('gateway.publish.started', {revision: 'r.3', weightBp: 1000, mode: 'split', purpose: 'step', step: 1, rules: 2, gray: [], stable: []})
    await j.append('gateway.publish.confirmed', {revision: 'r.3', weightBp: 1000, mode: 'split', purpose: 'step', step: 1})
    await j.close()
    for (const uid of ['u1', 'u42', 'u999', 'alice']) {
      const answer = await cohortOf(c, [`uid=${uid}`])
      // HAProxy hashes the seed followed by the key
      const bucket = xxh32(Buffer.from(`0badf00d${uid}`)) % 10_000
      expect(answer).toMatchObject({seed: '0badf00d', seedPending: false, bucket})
      expect(answer.steps.map((s) => s.target)).toEqual([1, 10, 50, 100].map((w) => (bucket < w * 100 || w === 100 ? 'gray' : 'stable')))
      expect(answer.now).toMatchObject({weight: 10, target: bucket < 1000 ? 'gray' : 'stable'})
    }
  })

  it('refuses a key that is not the sticky key', async () => {
    await expect(cohortOf(ctx(), ['user=u1'])).rejects.toThrow(/not the sticky key \(cookie:uid\)/)
  })
})
