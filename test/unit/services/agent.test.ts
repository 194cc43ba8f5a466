// The agent's pure parts: which configs `-c` names, the --listen address, the
// safe point a stopping agent hands a run back at, and the /metrics text.
import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runStarted} from '../../../src/core/run/begin.js'
import type {JournalEvent} from '../../../src/core/ports.js'
import {replay} from '../../../src/core/run/state.js'
import {parseListen} from '../../../src/services/agent-http.js'
import {AgentMetrics} from '../../../src/services/agent-metrics.js'
import {configFiles, safePoint} from '../../../src/services/agent.js'
import {testActor, testConfig} from '../../support/fakes.js'

const dirs: string[] = []
afterAll(async () => Promise.all(dirs.map((d) => rm(d, {recursive: true, force: true}))))

const at = (seq: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString()
function journal(...rest: Array<[string, Record<string, unknown>]>): JournalEvent[] {
  const config = testConfig()
  const first = {seq: 1, at: at(1), actor: testActor, type: 'run.started', data: runStarted(config, 'r1', 'v2', 'v1') as unknown as Record<string, unknown>}
  return [first, ...rest.map(([type, data], i) => ({seq: i + 2, at: at(i + 2), actor: testActor, type, data}))]
}

describe('gray agent', () => {
  it('-c takes files and directories (every *.yaml in name order, no hidden or other files)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gray-agent-unit-'))
    dirs.push(dir)
    await mkdir(join(dir, 'services'))
    for (const name of ['b.yaml', 'a.yml', '.hidden.yaml', 'notes.txt']) await writeFile(join(dir, 'services', name), '')
    await writeFile(join(dir, 'one.yaml'), '')
    expect(await configFiles([join(dir, 'one.yaml'), join(dir, 'services'), join(dir, 'one.yaml')])).toEqual([join(dir, 'one.yaml'), join(dir, 'services', 'a.yml'), join(dir, 'services', 'b.yaml')])
    await expect(configFiles([join(dir, 'missing.yaml')])).rejects.toMatchObject({exitCode: 2})
    await mkdir(join(dir, 'empty'))
    await expect(configFiles([join(dir, 'empty')])).rejects.toThrow(/holds no \*\.yaml/)
  })

  it('--listen reads host:port, [v6]:port, :port (loopback) and off; anything else is a usage error', () => {
    expect(parseListen('127.0.0.1:9465')).toEqual({host: '127.0.0.1', port: 9465})
    expect(parseListen('[::1]:9000')).toEqual({host: '::1', port: 9000})
    expect(parseListen(':9465')).toEqual({host: '127.0.0.1', port: 9465})
    expect(parseListen('off')).toBeNull()
    for (const bad of ['9465', 'host:', 'a:b', '1.2.3.4:70000']) expect(() => parseListen(bad), bad).toThrow(/--listen/)
  })

  it('hands a run back only where no deploy, publish or hook is under way', () => {
    expect(safePoint(replay(journal()))).toBe(true)
    const gray = replay(journal()).hosts.find((h) => h.pool === 'gray')
    if (!gray) throw new Error('the test config has no gray host')
    const host = gray.address
    const deploying = journal(['host.deploy.started', {host, name: gray.name, version: 'v2', purpose: 'gray', attempt: 1}])
    const s = replay(deploying)
    expect(safePoint(s)).toBe(false)
    expect(safePoint(replay([...deploying, {seq: 3, at: at(3), actor: testActor, type: 'host.deploy.succeeded', data: {host, version: 'v2', durationMs: 5, outputTail: []}}]))).toBe(true)
    expect(safePoint({...s, hosts: [], publishPending: true})).toBe(false)
    expect(safePoint({...s, hosts: [], publishPending: false, hooks: {'beforeDeploy:gray': {stage: 'beforeDeploy', key: 'gray', status: 'started'} as never}})).toBe(false)
  })

  it('renders /metrics as Prometheus text: runs by state, gates, publish latency, lease', () => {
    const m = new AgentMetrics(['shop', 'odd"name'])
    const events = journal(
      ['gateway.publish.started', {revision: 'r1', weightBp: 1000, mode: 'split', purpose: 'step', step: 0}],
      ['gateway.publish.confirmed', {revision: 'r1', weightBp: 1000, mode: 'split', purpose: 'step', step: 0}],
    )
    const state = replay(events)
    for (const e of events) m.event('shop', e, state)
    m.leaseTaken('shop', true)
    const text = m.render(Date.now() + 2_000)
    expect(text).toMatch(/^gray_agent_up 1$/m)
    expect(text).toMatch(new RegExp(`^gray_runs\\{service="shop",state="${state.status}"\\} 1$`, 'm'))
    expect(text).toMatch(/^gray_publish_last_latency_seconds\{service="shop"\} 1$/m)
    expect(text).toMatch(/^gray_publish_latency_seconds_count\{service="shop"\} 1$/m)
    expect(text).toMatch(/^gray_lease_held\{service="shop"\} 1$/m)
    expect(text).toMatch(/^gray_agent_takeovers_total\{service="shop"\} 1$/m)
    expect(text).toMatch(/^gray_lease_held\{service="odd\\"name"\} 0$/m)
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? (-?[\d.e+-]+|NaN|[+-]Inf))$/)
    m.leaseGone('shop')
    expect(m.render()).toMatch(/^gray_lease_held\{service="shop"\} 0$/m)
  })
})
