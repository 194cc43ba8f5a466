// Webhook notifications against real local HTTP servers: Slack-compatible
// payloads for the subscribed events only, and a webhook that hangs or answers
// 500 is logged (without its URL) and never holds up or fails the run.
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createNotifier, notifyEventOf, withNotifications} from '../../../src/adapters/notify/webhook.js'
import type {JournalEvent} from '../../../src/core/ports.js'
import {RunDriver} from '../../../src/core/run/driver.js'
import {replay} from '../../../src/core/run/state.js'
import {harness} from '../../support/harness.js'
import {testActor} from '../../support/fakes.js'

interface Hook {
  server: Server
  url: string
  bodies: Array<{text: string; blocks?: unknown[]}>
  hits: number
}

async function hook(answer: 'ok' | 'hang' | 'fail'): Promise<Hook> {
  const h: Hook = {server: null as unknown as Server, url: '', bodies: [], hits: 0}
  h.server = createServer((req: IncomingMessage, res) => {
    h.hits += 1
    let body = ''
    req.on('data', (c: Buffer) => (body += String(c)))
    req.on('end', () => {
      if (answer === 'hang') return
      h.bodies.push(JSON.parse(body))
      res.writeHead(answer === 'ok' ? 200 : 500).end(answer === 'ok' ? 'ok' : 'boom')
    })
  })
  await new Promise<void>((resolve) => h.server.listen(0, '127.0.0.1', resolve))
  // the path stands for the secret part of a real webhook URL
  h.url = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}/services/T000/B000/s3cr3tT0ken${answer}`
  return h
}

let ok: Hook
let ok2: Hook
let hang: Hook
let fail: Hook

beforeAll(async () => {
  ;[ok, ok2, hang, fail] = await Promise.all([hook('ok'), hook('ok'), hook('hang'), hook('fail')])
})

afterAll(async () => {
  for (const h of [ok, ok2, hang, fail]) {
    h.server.closeAllConnections()
    await new Promise((resolve) => h.server.close(resolve))
  }
})

const at = '2026-11-22T10:00:00.000Z'
const event = (seq: number, type: string, data: Record<string, unknown>): JournalEvent => ({seq, at, actor: testActor, type, data}) as JournalEvent

describe('createNotifier', () => {
  const h = harness()
  const started = event(1, 'run.started', {runId: 'r1', service: 'checkout', version: 'v2', previousVersion: 'v1', steps: h.config.steps, hosts: h.config.hosts, gateway: 'sandbox', checks: [], config: '/x'})
  const state = replay([started, event(2, 'step.started', {index: 0, weight: 1})])

  it('maps journal events to the four notifications', () => {
    expect(notifyEventOf(event(2, 'step.started', {index: 0, weight: 1}))).toBe('step')
    expect(notifyEventOf(event(2, 'step.waiting', {index: 1}))).toBe('paused')
    expect(notifyEventOf(event(2, 'run.paused', {reason: 'x', cause: 'request'}))).toBe('paused')
    expect(notifyEventOf(event(2, 'rollback.started', {reason: 'x', by: 'u'}))).toBe('rolled_back')
    expect(notifyEventOf(event(2, 'run.completed', {version: 'v2'}))).toBe('completed')
    expect(notifyEventOf(event(2, 'gate.measured', {}))).toBeNull()
  })

  it('posts {text, blocks} for each subscribed event, in order, to each webhook', async () => {
    ok.bodies.length = 0
    const notifier = createNotifier({notify: [{webhook: ok.url, on: ['step', 'paused', 'rolled_back', 'completed']}, {webhook: ok2.url, on: ['completed']}]})
    notifier(event(2, 'step.started', {index: 1, weight: 10}), state)
    notifier(event(3, 'gate.measured', {check: 'errors'}), state)
    notifier(event(4, 'run.paused', {reason: 'lunch', cause: 'request'}), state)
    notifier(event(5, 'run.rolled_back', {reason: 'gate errors failed', reverted: [], notReverted: []}), state)
    notifier(event(6, 'run.completed', {version: 'v2'}), state)
    await notifier.flush()
    const texts = ok.bodies.map((b) => b.text)
    expect(texts).toEqual([
      expect.stringContaining('checkout v2: step 2/4 (10%) — 10% of traffic goes to gray'),
      expect.stringContaining('checkout v2 paused at step 1/4 (1%): lunch'),
      expect.stringContaining('checkout v2 rolled back to v1: gate errors failed'),
      expect.stringContaining('checkout v2 completed'),
    ])
    expect(ok2.bodies.map((b) => b.text)).toEqual([expect.stringContaining('checkout v2 completed')])
    expect(ok.bodies[0]!.blocks).toEqual([
      {type: 'section', text: {type: 'mrkdwn', text: texts[0]}},
      {type: 'context', elements: [{type: 'mrkdwn', text: expect.stringContaining('run r1')}]},
    ])
  })

  it('a webhook that hangs or answers 500 is logged without its URL; the observer returns at once', async () => {
    const log: string[] = []
    const notifier = createNotifier({notify: [{webhook: hang.url, on: ['completed']}, {webhook: fail.url, on: ['completed']}]}, {log: (l) => log.push(l), timeoutMs: 300})
    const returned = notifier(event(2, 'run.completed', {version: 'v2'}), state)
    expect(returned).toBeUndefined()
    await notifier.flush(10_000)
    expect(log.sort()).toEqual([
      'gray: notification to notify[0] (127.0.0.1) failed: no answer within the timeout; the run goes on',
      'gray: notification to notify[1] (127.0.0.1) failed: the webhook answered HTTP 500; the run goes on',
    ])
    expect(log.join('\n')).not.toContain('s3cr3t')
  })

  it('keeps at most queueLimit messages waiting per webhook, dropping the oldest', async () => {
    const log: string[] = []
    const before = hang.hits
    const notifier = createNotifier({notify: [{webhook: hang.url, on: ['step']}]}, {log: (l) => log.push(l), timeoutMs: 200, queueLimit: 2})
    for (let i = 0; i < 5; i++) notifier(event(2 + i, 'step.started', {index: 0, weight: 1}), state)
    await notifier.flush(10_000)
    // the first went out at once, two waited, two were dropped
    expect(hang.hits - before).toBe(3)
    expect(log.filter((l) => l.includes('dropped its oldest waiting notification'))).toHaveLength(2)
  })

  it('a whole run with a hanging and a failing webhook completes, and the good one hears of it', async () => {
    ok.bodies.length = 0
    const log: string[] = []
    const run = harness({notify: [{webhook: hang.url, on: ['step', 'completed']}, {webhook: fail.url, on: ['step', 'completed']}, {webhook: ok.url, on: ['completed']}]})
    const notifier = createNotifier(run.config, {log: (l) => log.push(l), timeoutMs: 300})
    await run.begin()
    const driver = new RunDriver({config: run.config, journal: run.journal, gateway: run.gateway, deployer: run.deployer, sources: {m: run.source}, clock: run.clock, inbox: run.inbox, actor: testActor, observe: notifier})
    const outcome = await run.clock.run(driver.drive())
    expect(outcome.state.status).toBe('completed')
    await notifier.flush(30_000)
    expect(ok.bodies.map((b) => b.text)).toEqual([expect.stringContaining('checkout v2 completed')])
    expect(log.some((l) => l.includes('HTTP 500'))).toBe(true)
    // nothing about notifications went into the journal
    expect(run.journal.events().some((e) => JSON.stringify(e).includes('notif'))).toBe(false)
  })

  it('withNotifications: the observer alone without webhooks, else both', async () => {
    const seen: string[] = []
    const observe = (e: JournalEvent) => void seen.push(e.type)
    expect(withNotifications({notify: []}, observe)).toBe(observe)
    ok.bodies.length = 0
    const both = withNotifications({notify: [{webhook: ok.url, on: ['completed']}]}, observe)!
    both(event(9, 'run.completed', {version: 'v2'}), state)
    expect(seen).toEqual(['run.completed'])
    for (let i = 0; i < 50 && ok.bodies.length === 0; i++) await new Promise((r) => setTimeout(r, 100))
    expect(ok.bodies.map((b) => b.text)).toEqual([expect.stringContaining('completed')])
  })
})
