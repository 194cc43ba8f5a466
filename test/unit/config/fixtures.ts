// A minimal valid gray.yaml as an object, for tests to vary one key at a time.
import {configFromObject} from '../../../src/core/config/load.js'
import type {GrayConfig} from '../../../src/core/config/model.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'

export const minimal = {
  service: 'shop',
  hosts: {stable: ['10.0.0.21:8080', '10.0.0.22:8080'], gray: ['10.0.0.11:8080']},
  deploy: {command: ['deploy', '{host.name}', '{version}']},
  gateway: {type: 'sandbox'},
}

export function parse(overrides: Record<string, unknown>): GrayConfig {
  return configFromObject({...minimal, ...overrides}, '/srv/shop/gray.yaml', {})
}

/** the problems a config with these overrides is refused with */
export function problemsOf(overrides: Record<string, unknown>): string[] {
  try {
    parse(overrides)
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.problems
    throw error
  }
  throw new Error('the config was accepted')
}
