// The whole chain on real parts: a gray version that starts failing behind
// nginx (and behind the sandbox gateway) is seen by real Prometheus, judged by
// the engine's gate, and rolled back, after which no request reaches it.
// (Timing is the bench's job.)
import {expect, test} from 'vitest'
import {benchTimeToSafety} from '../../bench/time-to-safety.js'
import {nginxBinary} from '../../support/nginx.js'
import {skipWithoutPrometheus} from '../../support/prometheus.js'

test.skipIf(skipWithoutPrometheus).for([
  {gateway: 'nginx' as const, skip: !nginxBinary()},
  {gateway: 'sandbox' as const, skip: false},
])('a failing gray version behind $gateway is rolled back by a Prometheus gate and then gets no traffic', async ({gateway, skip}, ctx) => {
  if (skip) ctx.skip()
  const result = await benchTimeToSafety({tries: 1, rps: 100, gateway, slowTry: false})
  expect(result.scenario).toContain(gateway === 'nginx' ? 'real nginx in front' : 'the sandbox gateway in front')
  expect(result.misses).toEqual([])
  expect(result.tries).toBe(1)
  expect(result.grayResponsesAfterRollback).toBe(0)
  expect(result.timesMs).toHaveLength(1)
})
