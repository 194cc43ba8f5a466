import {describe, expect, it} from 'vitest'
import type {Judgement, Verdict} from '../../../src/core/gates/judge.js'
import {assessBakeEnd, assessMeasurements, escalateVerdict, INCONCLUSIVE_PATIENCE_FACTOR, inconclusivePatience} from '../../../src/core/run/escalation.js'
import type {GateState} from '../../../src/core/run/state.js'
import {check} from '../../support/fakes.js'

function judgement(verdict: Verdict, extra: Partial<Judgement> = {}): Judgement {
  return {verdict, value: null, limit: 0.01, baseline: null, samples: null, reason: `${verdict} reason`, ...extra}
}

function gate(name: string, over: Partial<GateState> & {verdict?: Verdict} = {}): GateState {
  const {verdict, ...rest} = over
  return {
    name,
    last: verdict ? {verdict, value: null, limit: null, baseline: null, samples: null, reason: `${verdict} reason`, at: '2026-01-01T00:00:00.000Z', step: 0} : null,
    history: [],
    passes: 0,
    measurements: 0,
    consecutiveFails: 0,
    consecutiveErrors: 0,
    evidence: null,
    ...rest,
  }
}

describe('escalateVerdict', () => {
  it('turns no-data into a fail under noData: fail, keeping the why', () => {
    const out = escalateVerdict(check({noData: 'fail'}), judgement('no-data', {reason: '12 samples < 100 needed'}))
    expect(out.verdict).toBe('fail')
    expect(out.reason).toBe('no data (12 samples < 100 needed); noData: fail')
  })

  it('keeps no-data under noData: hold', () => {
    const j = judgement('no-data')
    expect(escalateVerdict(check({noData: 'hold'}), j)).toEqual(j)
  })

  it.each(['pass', 'fail', 'error'] as const)('leaves %s unchanged under either policy', (verdict) => {
    const j = judgement(verdict)
    expect(escalateVerdict(check({noData: 'fail'}), j)).toEqual(j)
    expect(escalateVerdict(check({noData: 'hold'}), j)).toEqual(j)
  })
})

describe('assessMeasurements', () => {
  const errors = check({name: 'errors', failures: 2, errorLimit: 3})

  it('continues on a single fail below failures', () => {
    expect(assessMeasurements([{check: errors, judgement: {}}], {errors: gate('errors', {verdict: 'fail', consecutiveFails: 1})})).toEqual({action: 'continue'})
  })

  it('rolls back at exactly failures consecutive fails', () => {
    expect(assessMeasurements([{check: errors, judgement: {}}], {errors: gate('errors', {verdict: 'fail', consecutiveFails: 2})})).toEqual({
      action: 'rollback',
      reason: 'gate errors failed: fail reason (2 consecutive fails)',
    })
  })

  it('rolls back a critical check on its first fail', () => {
    const c = check({name: 'errors', critical: true, failures: 5})
    expect(assessMeasurements([{check: c, judgement: {}}], {errors: gate('errors', {verdict: 'fail', consecutiveFails: 1})})).toEqual({
      action: 'rollback',
      reason: 'gate errors failed: fail reason (critical check)',
    })
  })

  it('rolls back on a decisive sequential test, naming α (default 0.01, or the check’s)', () => {
    const g = {errors: gate('errors', {verdict: 'fail', consecutiveFails: 1})}
    expect(assessMeasurements([{check: check({name: 'errors', critical: true}), judgement: {decisive: true}}], g)).toMatchObject({reason: 'gate errors failed: fail reason (sequential test, α = 0.01)'})
    expect(assessMeasurements([{check: check({name: 'errors', alpha: 0.05}), judgement: {decisive: true}}], g)).toMatchObject({action: 'rollback', reason: 'gate errors failed: fail reason (sequential test, α = 0.05)'})
  })

  it('continues on errors below errorLimit and pauses at it', () => {
    expect(assessMeasurements([{check: errors, judgement: {}}], {errors: gate('errors', {verdict: 'error', consecutiveErrors: 2})})).toEqual({action: 'continue'})
    expect(assessMeasurements([{check: errors, judgement: {}}], {errors: gate('errors', {verdict: 'error', consecutiveErrors: 3})})).toEqual({
      action: 'pause',
      reason: 'gate errors could not be measured 3 times in a row: error reason',
    })
  })

  it('rolls back at errorLimit when the check fails closed', () => {
    const c = check({name: 'errors', errorLimit: 3, failClosed: true})
    expect(assessMeasurements([{check: c, judgement: {}}], {errors: gate('errors', {verdict: 'error', consecutiveErrors: 3})})).toEqual({
      action: 'rollback',
      reason: 'gate errors could not be measured 3 times in a row: error reason (failClosed)',
    })
  })

  it('never escalates on pass, no-data or a check not measured', () => {
    const c = check({name: 'errors', critical: true, failures: 1, errorLimit: 1})
    for (const verdict of ['pass', 'no-data'] as const) {
      expect(assessMeasurements([{check: c, judgement: {}}], {errors: gate('errors', {verdict, consecutiveFails: 9, consecutiveErrors: 9})})).toEqual({action: 'continue'})
    }
    expect(assessMeasurements([{check: c, judgement: {}}], {errors: gate('errors')})).toEqual({action: 'continue'})
    expect(assessMeasurements([{check: c, judgement: {}}], {})).toEqual({action: 'continue'})
  })

  it('with several checks, the first escalating check in order decides', () => {
    const a = check({name: 'a', errorLimit: 1})
    const b = check({name: 'b', critical: true})
    const gates = {a: gate('a', {verdict: 'error', consecutiveErrors: 1}), b: gate('b', {verdict: 'fail', consecutiveFails: 1})}
    expect(assessMeasurements([{check: a, judgement: {}}, {check: b, judgement: {}}], gates)).toMatchObject({action: 'pause'})
    expect(assessMeasurements([{check: b, judgement: {}}, {check: a, judgement: {}}], gates)).toMatchObject({action: 'rollback', reason: 'gate b failed: fail reason (critical check)'})
    const ok = check({name: 'ok'})
    expect(assessMeasurements([{check: ok, judgement: {}}, {check: b, judgement: {}}], {...gates, ok: gate('ok', {verdict: 'pass'})})).toMatchObject({action: 'rollback'})
  })
})

describe('inconclusive patience', () => {
  it('is twice the largest minPasses of the lacking checks', () => {
    expect(INCONCLUSIVE_PATIENCE_FACTOR).toBe(2)
    expect(inconclusivePatience([{minPasses: 3}])).toBe(6)
    expect(inconclusivePatience([{minPasses: 1}, {minPasses: 4}, {minPasses: 2}])).toBe(8)
  })
})

describe('assessBakeEnd', () => {
  const a = check({name: 'a', minPasses: 3})
  const b = check({name: 'b', minPasses: 1})

  it('passes when every check has its minPasses, whatever was measured after the bake', () => {
    expect(assessBakeEnd([a, b], {a: gate('a', {passes: 3}), b: gate('b', {passes: 5})}, 0)).toEqual({action: 'pass'})
    expect(assessBakeEnd([], {}, 100)).toEqual({action: 'pass'})
  })

  it('waits just before the patience, pauses at it and after it', () => {
    const gates = {a: gate('a', {verdict: 'no-data', passes: 1}), b: gate('b', {passes: 1})}
    expect(assessBakeEnd([a, b], gates, 5)).toEqual({action: 'wait'})
    const paused = {action: 'pause-inconclusive', reason: 'gates inconclusive: a 1/3 passes (no-data reason)'}
    expect(assessBakeEnd([a, b], gates, 6)).toEqual(paused)
    expect(assessBakeEnd([a, b], gates, 7)).toEqual(paused)
  })

  it('takes the patience from the lacking checks only', () => {
    // a has its passes: only b (minPasses 1) lacks, so patience is 2, not 6
    const gates = {a: gate('a', {passes: 3}), b: gate('b')}
    expect(assessBakeEnd([a, b], gates, 1)).toEqual({action: 'wait'})
    expect(assessBakeEnd([a, b], gates, 2)).toEqual({action: 'pause-inconclusive', reason: 'gates inconclusive: b 0/1 passes (not measured)'})
  })

  it('lists every lacking check, in order', () => {
    expect(assessBakeEnd([a, b], {a: gate('a', {verdict: 'fail', passes: 2})}, 6)).toEqual({
      action: 'pause-inconclusive',
      reason: 'gates inconclusive: a 2/3 passes (fail reason); b 0/1 passes (not measured)',
    })
  })
})
