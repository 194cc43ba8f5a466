// Retries with backoff: how many tries, which errors, and the pauses.
import {describe, expect, test} from 'vitest'
import {gatewayCapabilities} from '../../../src/adapters/gateways/capabilities.js'
import {backoffDelay, withRetry} from '../../../src/adapters/gateways/retry.js'
import {GatewayError} from '../../../src/core/errors.js'

const fast = {attempts: 4, baseDelayMs: 1, maxDelayMs: 4}

describe('withRetry', () => {
  test('tries again after retryable errors and returns the first success', async () => {
    let calls = 0
    const result = await withRetry(async () => {
      if (++calls < 3) throw new GatewayError('flaky')
      return 'ok'
    }, fast)
    expect([result, calls]).toEqual(['ok', 3])
  })

  test('stops at once on a permanent error', async () => {
    let calls = 0
    const failing = withRetry(async () => {
      calls++
      throw new GatewayError('rejected', {permanent: true})
    }, fast)
    await expect(failing).rejects.toThrow('rejected')
    expect(calls).toBe(1)
  })

  test('gives up after the attempts with the last error', async () => {
    let calls = 0
    const failing = withRetry(async () => {
      throw new GatewayError(`down ${++calls}`)
    }, fast)
    await expect(failing).rejects.toThrow('down 4')
  })

  test('an aborted signal ends the retries', async () => {
    const controller = new AbortController()
    let calls = 0
    const failing = withRetry(async () => {
      calls++
      controller.abort()
      throw new GatewayError('down')
    }, {...fast, signal: controller.signal})
    await expect(failing).rejects.toThrow('down')
    expect(calls).toBe(1)
  })

  test('pauses double up to the cap, with at most 25% taken off', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 800, 1000])
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(300)
  })
})

describe('gatewayCapabilities', () => {
  test('apisix splits per request and cannot tag; nginx and http express everything (nginx: header names without "_")', () => {
    expect(gatewayCapabilities('apisix')).toMatchObject({stickySplit: false, tag: false})
    for (const type of ['nginx', 'http', 'sandbox'] as const) {
      expect(gatewayCapabilities(type)).toMatchObject({rules: ['equals', 'in', 'prefix', 'range', 'cidr'], sticky: ['cookie', 'header', 'query', 'ip'], stickySplit: true, tag: true})
    }
    expect(gatewayCapabilities('http').headerName).toBeUndefined()
    const nginx = gatewayCapabilities('nginx').headerName!
    expect(['X-Gray', 'x-uid-2'].map((n) => nginx.pattern.test(n))).toEqual([true, true])
    expect(['X_Gray', 'X.Gray', 'X Gray'].map((n) => nginx.pattern.test(n))).toEqual([false, false, false])
  })
})
