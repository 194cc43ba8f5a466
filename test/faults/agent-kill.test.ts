// kill -9 of the `gray agent` driving a run whose state is in PostgreSQL, at
// journal points across the run, then another agent started from another
// working directory takes it over (./agent-kill.ts); the end state is judged
// as the CLI driver's is (./pg-kill.ts, postgres-kill.test.ts).
import {afterAll, beforeAll, describe, it, vi} from 'vitest'

import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {agentKillAndTakeOver, killAgents} from './agent-kill.js'
import {PG_KILL_POINTS} from './pg-kill.js'
import {startWorld, type World} from './world.js'

// real processes on a shared, loaded machine: each case gets more than the suite's 3 minutes
vi.setConfig({testTimeout: 420_000})

let world: World
let server: PostgresServer
beforeAll(async () => {
  ;[world, server] = await Promise.all([startWorld(), startPostgres()])
}, 120_000)
afterAll(async () => {
  await killAgents()
  await Promise.all([world?.stop(), server?.destroy()])
}, 120_000)

describe.skipIf(skipWithoutPostgres)('crash points on PostgreSQL: the driving gray agent killed, another agent takes over', () => {
  it.each(PG_KILL_POINTS)('agent killed %s (%s), another agent takes over', (point, version) => agentKillAndTakeOver(world, server, {point, version}))

  // what only a driver that guards waits does: A dies while it guards the wait for promote (measuring the
  // gates there); B must take the waiting run over (it was not left by a detach) and carry out the promote
  it('agent killed after:driver.guarding at a wait for promote (v2), another agent takes over and promotes', () =>
    agentKillAndTakeOver(world, server, {
      point: 'after:driver.guarding',
      version: 'v2',
      steps: [
        {weight: 1, bake: '500ms'},
        {weight: 50, pause: true, hosts: 1},
        {weight: 100, bake: '500ms'},
      ],
    }))
})
