import {afterAll, beforeAll, describe, it} from 'vitest'

import {killAndTakeOver} from './kill.js'
import {BAD, startWorld, type World} from './world.js'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())

describe('crash points: a rollback by the gates', () => {
  it.each([
    'before:rollback.started',
    'after:rollback.started',
    'after:gateway.publish.started#2',
    'before:gateway.publish.confirmed#2',
    'after:gateway.publish.confirmed#2',
    'after:host.deploy.started#2',
    'before:host.deploy.succeeded#2',
    'after:gateway.publish.started#3',
    'before:run.rolled_back',
  ])('killed %s, then gray start again', (point) => killAndTakeOver(world, {point, version: BAD}))
})
