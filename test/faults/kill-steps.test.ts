import {afterAll, beforeAll, describe, it} from 'vitest'

import {killAndTakeOver} from './kill.js'
import {startWorld, type World} from './world.js'

let world: World
beforeAll(async () => {
  world = await startWorld()
})
afterAll(async () => world.stop())

describe('crash points: later steps and converting hosts', () => {
  it.each([
    'before:step.passed#1',
    'after:step.passed#1',
    'after:step.started#2',
    'after:gateway.publish.started#2',
    'before:gateway.publish.confirmed#2',
    'after:host.deploy.started#2',
    'before:host.deploy.succeeded#2',
    'after:gateway.publish.started#3',
    'before:gateway.publish.confirmed#3',
  ])('killed %s, then gray start again', (point) => killAndTakeOver(world, {point, version: 'v2'}))
})
