import {describe, expect, it} from 'vitest'

import {requestEvent} from '../../../src/core/run/requests.js'
import {testActor, testConfig} from '../../support/fakes.js'
import {HandJournal} from '../../support/journal.js'

const req = (kind: 'promote' | 'pause' | 'resume' | 'rollback', extra: {reason?: string; full?: boolean} = {}) => ({kind, actor: testActor, ...extra})

describe('requestEvent: what a request does to the run', () => {
  it('a rollback request starts a rollback, named by who asked unless a reason is given', () => {
    const s = new HandJournal(testConfig()).state()
    expect(requestEvent(s, req('rollback'), 'request')).toEqual({type: 'rollback.started', data: {reason: 'requested by tester@test-host (pid 4242)', by: 'tester@test-host (pid 4242)'}})
    expect(requestEvent(s, req('rollback', {reason: 'bad'}), 'request')).toMatchObject({data: {reason: 'bad'}})
  })

  it('pause pauses a running run (with its cause), resume resumes a paused one, and neither repeats itself', () => {
    const j = new HandJournal(testConfig())
    expect(requestEvent(j.state(), req('resume'), 'request')).toBeNull()
    expect(requestEvent(j.state(), req('pause'), 'signal')).toEqual({type: 'run.paused', data: {reason: 'paused by tester@test-host (pid 4242)', cause: 'signal'}})
    j.add('run.paused', {reason: 'x', cause: 'request'})
    expect(requestEvent(j.state(), req('pause'), 'request')).toBeNull()
    expect(requestEvent(j.state(), req('resume'), 'request')).toEqual({type: 'run.resumed', data: {by: 'tester@test-host (pid 4242)'}})
  })

  it('promote is always journaled while the run goes on, full or not', () => {
    const s = new HandJournal(testConfig()).state()
    expect(requestEvent(s, req('promote', {full: true}), 'request')).toEqual({type: 'run.promoted', data: {full: true, by: 'tester@test-host (pid 4242)'}})
    expect(requestEvent(s, req('promote'), 'request')).toMatchObject({data: {full: false}})
  })

  it('during a rollback nothing but a rollback is taken, and a second rollback changes nothing; an ended run takes nothing', () => {
    const j = new HandJournal(testConfig()).add('rollback.started', {reason: 'gates', by: 'gates'})
    for (const kind of ['promote', 'pause', 'resume', 'rollback'] as const) expect(requestEvent(j.state(), req(kind), 'request')).toBeNull()
    j.add('run.rolled_back', {reason: 'gates', reverted: [], notReverted: []})
    expect(requestEvent(j.state(), req('rollback'), 'request')).toBeNull()
  })
})
