// `gray status` with a gateway fleet: a line per instance, its revision, and drift.
import {describe, expect, it} from 'vitest'
import type {StatusDocument} from '../../../src/services/status.js'
import {renderStatus} from '../../../src/ui/status.js'

function doc(instances: NonNullable<NonNullable<StatusDocument['run']>['gateway']['instances']>): StatusDocument {
  return {
    service: 'shop',
    run: {
      id: 'r1',
      version: 'v2',
      previousVersion: 'v1',
      state: 'baking',
      step: {index: 1, count: 4, weight: 10, startedAt: null, bakeEndsAt: null},
      gateway: {intendedWeight: 10, appliedWeight: null, mode: null, revision: null, drift: true, error: 'the instances serve different revisions', instances},
      hosts: [],
      gates: [],
      driver: null,
      reason: null,
      warnings: [],
      startedAt: '2026-12-03T06:00:00.000Z',
      updatedAt: '2026-12-03T06:00:00.000Z',
    },
    events: [],
  } as StatusDocument
}

describe('status of a gateway fleet', () => {
  it('shows each instance with its revision, marks the one that drifts, and escapes what instances say', () => {
    const text = renderStatus(
      doc([
        {name: 'lb-1', revision: 'rev-7', appliedWeight: 10, drift: false},
        {name: 'lb-2', revision: 'rev-6', appliedWeight: 1, drift: true},
        {name: 'lb-3', revision: null, appliedWeight: null, drift: true, error: 'did not answer \u001b[31mred'},
      ]),
      {trend: false},
    )
    const lines = text.split('\n')
    expect(lines.find((l) => l.includes('lb-1'))).toMatch(/lb-1: 10% \(revision rev-7\)$/)
    expect(lines.find((l) => l.includes('lb-2'))).toMatch(/lb-2: 1% \(revision rev-6\).*DRIFT/)
    const third = lines.find((l) => l.includes('lb-3')) as string
    expect(third).toContain('unreadable: did not answer')
    expect(third).not.toContain('\u001b[31m')
  })
})
