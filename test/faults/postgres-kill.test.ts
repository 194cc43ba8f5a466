// kill -9 of the driving process at journal points across a run whose state
// is in PostgreSQL, then another driver from another working directory takes
// it over (./pg-kill.ts). The driving command is a parameter: today `gray start`.
import {afterAll, beforeAll, describe, it, vi} from 'vitest'

import {skipWithoutPostgres, startPostgres, type PostgresServer} from '../support/postgres.js'
import {PG_KILL_POINTS, pgKillAndTakeOver} from './pg-kill.js'
import {cliStart} from './pg-world.js'
import {startWorld, type World} from './world.js'

// real processes on a shared, loaded machine: each case gets more than the suite's 3 minutes
vi.setConfig({testTimeout: 420_000})

let world: World
let server: PostgresServer
beforeAll(async () => {
  ;[world, server] = await Promise.all([startWorld(), startPostgres()])
}, 120_000)
afterAll(async () => Promise.all([world?.stop(), server?.destroy()]), 120_000)

describe.skipIf(skipWithoutPostgres)(`crash points on PostgreSQL: ${cliStart.name} killed, another takes over`, () => {
  it.each(PG_KILL_POINTS)('killed %s (%s), then another driver takes over', (point, version) => pgKillAndTakeOver(world, server, {point, version, driver: cliStart}))
})
