// validateService's progress callback under --connect: each kind of check says
// it starts, each host says it ended, each kind ends with exactly the results
// the command returns (same order, same words), and a callback that throws
// changes nothing. Real loopback peers: an http control plane, two listening
// hosts and one port nothing listens on, a command metric source.
import {createServer} from 'node:http'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {validateService, type ValidateProgress} from '../../../src/services/validate.js'
import {loopback} from '../../support/loopback.js'

const peers = loopback()
const listen = peers.listen
const deadPort = peers.deadPort

let file = ''
let dead = ''

beforeAll(async () => {
  const gateway = await listen(createServer((_req, res) => res.writeHead(404, {'content-type': 'application/json'}).end('{"error":"no policy"}')))
  const [a, b] = [await listen(createServer((_q, r) => r.end('ok'))), await listen(createServer((_q, r) => r.end('ok')))]
  dead = await deadPort()
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-validate-progress-'))
  file = path.join(dir, 'gray.yaml')
  const metric = [process.execPath, '-e', 'console.log(0)']
  writeFileSync(
    file,
    JSON.stringify({
      service: 'shop',
      state: {dir: path.join(dir, '.gray')},
      hosts: {gray: [a], stable: [b, dead]},
      deploy: {command: ['true']},
      gateway: {type: 'http', url: `http://${gateway}/policies/{service}`},
      steps: [{weight: 50, bake: '1s'}, {weight: 100, bake: '1s'}],
      metrics: {cmd: {type: 'command', command: metric}},
      gates: {checks: [{name: 'errors', source: 'cmd', query: 'e', max: 1}, {name: 'latency', source: 'cmd', query: 'l', max: 1}]},
    }),
  )
})

afterAll(async () => {
  await peers.close()
})

describe('validateService --connect progress', () => {
  it('each phase starts before it ends, every host ends in between, and the results are those returned', async () => {
    const events: ValidateProgress[] = []
    const result = await validateService(file, {connect: true, progress: (e) => events.push(e)})
    const of = (phase: string) => events.filter((e) => e.phase === phase)

    // every phase: one start first, one done last
    for (const phase of ['gateway', 'hosts', 'gates']) {
      const mine = of(phase)
      expect(mine[0]?.event, phase).toBe('start')
      expect(mine.at(-1)?.event, phase).toBe('done')
      expect(mine.filter((e) => e.event === 'start' || e.event === 'done'), phase).toHaveLength(2)
    }
    expect(of('gateway')[0]).toEqual({phase: 'gateway', event: 'start', what: 'http gateway'})
    expect(of('hosts')[0]).toEqual({phase: 'hosts', event: 'start', count: 3})
    expect(of('gates')[0]).toEqual({phase: 'gates', event: 'start', count: 2})

    // every host ends between its phase's start and done, once each
    const items = of('hosts').filter((e) => e.event === 'item')
    expect(items.map((e) => e.event === 'item' && e.result.what).sort()).toEqual(result.connect!.filter((c) => c.what.startsWith('host ')).map((c) => c.what).sort())

    // what the phases ended with is what validate returns, in its order: gateway, hosts, gates
    const done = (phase: string) => of(phase).flatMap((e) => (e.event === 'done' ? e.results : []))
    expect([...done('gateway'), ...done('hosts'), ...done('gates')]).toEqual(result.connect)
    expect(done('hosts').map((c) => c.ok)).toEqual([true, true, false])
    expect(done('hosts')[2]).toMatchObject({what: `host ${dead}`, detail: 'cannot connect (ECONNREFUSED)'})
    expect(done('gateway')).toEqual([{what: 'http gateway', ok: true, detail: 'reachable; no gray policy yet'}])
    expect(done('gates').map((c) => c.ok)).toEqual([true, true])
  })

  it('a callback that throws changes nothing; without one, nothing is told', async () => {
    const quiet = await validateService(file, {connect: true})
    const loud = await validateService(file, {
      connect: true,
      progress: () => {
        throw new Error('display broke')
      },
    })
    expect(loud).toEqual(quiet)
  })

  it('without --connect the callback is never called', async () => {
    const events: ValidateProgress[] = []
    const result = await validateService(file, {progress: (e) => events.push(e)})
    expect(result.connect).toBeUndefined()
    expect(events).toEqual([])
  })
})
