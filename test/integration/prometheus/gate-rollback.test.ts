// The whole chain on real parts: a gray version that starts failing behind the
// sandbox gateway is seen by real Prometheus, judged by the engine's gate, and
// rolled back, after which no request reaches it. (Timing is the bench's job.)
import {expect, test} from 'vitest'
import {benchTimeToSafety} from '../../bench/time-to-safety.js'
import {skipWithoutPrometheus} from '../../support/prometheus.js'

test.skipIf(skipWithoutPrometheus)('a failing gray version is rolled back by a Prometheus gate and then gets no traffic', async () => {
  const result = await benchTimeToSafety({tries: 1, rps: 100})
  expect(result.misses).toEqual([])
  expect(result.tries).toBe(1)
  expect(result.grayResponsesAfterRollback).toBe(0)
  expect(result.timesMs).toHaveLength(1)
})
