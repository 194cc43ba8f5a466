import {afterAll, beforeAll, describe, it} from 'vitest'

import {killAndTakeOver} from './kill.js'
import {startWorld, type World} from './world.js'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())

describe('crash points: deploying the gray pool and the first step', () => {
  it.each([
    'after:driver.attached',
    'after:host.deploy.started#1',
    'before:host.deploy.succeeded#1',
    'after:host.deploy.succeeded#1',
    'after:step.started#1',
    'after:gateway.publish.started#1',
    'before:gateway.publish.confirmed#1',
    'after:gateway.publish.confirmed#1',
    'after:gate.measured#2',
  ])('killed %s, then gray start again', (point) => killAndTakeOver(world, {point, version: 'v2'}))
})
