import {afterAll, beforeAll, describe, it} from 'vitest'

import {killAndTakeOver} from './kill.js'
import {startWorld, type World} from './world.js'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())

describe('crash points: baking at 100% and completing', () => {
  it.each([
    'after:gate.measured#5',
    'after:step.passed#2',
    'after:gateway.publish.started#4',
    'before:step.passed#3',
    'after:run.completing',
    'after:host.deploy.started#3',
    'before:host.deploy.succeeded#3',
    'after:gateway.publish.started#5',
    'before:gateway.publish.confirmed#5',
    'before:run.completed',
  ])('killed %s, then gray start again', (point) => killAndTakeOver(world, {point, version: 'v2'}))
})
