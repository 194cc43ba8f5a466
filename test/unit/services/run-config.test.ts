// Which config a run is driven with (src/services/run-config.ts): its own, filled
// here; gray.yaml's when it is the same or adopted; gray.yaml's for runs started
// before runs kept their config. And what replay makes of config.adopted.
import {afterEach, describe, expect, it} from 'vitest'

import {freezeConfig} from '../../../src/core/config/frozen.js'
import {configFromObject} from '../../../src/core/config/load.js'
import type {GrayConfig} from '../../../src/core/config/model.js'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import type {JournalEvent} from '../../../src/core/ports.js'
import {runStarted} from '../../../src/core/run/begin.js'
import type {EventData, EventType} from '../../../src/core/run/events.js'
import {replay} from '../../../src/core/run/state.js'
import {summarize} from '../../../src/core/run/summary.js'
import {clearRegisteredSecrets} from '../../../src/core/redact.js'
import {configForRun, frozenOf} from '../../../src/services/run-config.js'
import {testActor} from '../../support/fakes.js'

const ENV = {EDGE_TOKEN: 'edge-token-Aa11Bb22'}
const STATE = {dir: '/tmp/gray-state-unused'}

function gray(bake = '1s', env: Record<string, string> = ENV): GrayConfig {
  return configFromObject(
    {
      service: 'shop',
      hosts: {stable: ['10.0.0.21:8080'], gray: ['10.0.0.11:8080']},
      deploy: {command: ['deploy', '{host.name}', '{version}']},
      gateway: {type: 'http', url: 'http://127.0.0.1:9/policies/{service}', token: '${EDGE_TOKEN}'},
      steps: [{weight: 10, pause: true}, {weight: 100, bake}],
    },
    '/srv/ci/gray.yaml',
    env,
  )
}

function journal(config: GrayConfig, frozen = true): JournalEvent[] {
  const events: JournalEvent[] = []
  const add = <T extends EventType>(type: T, data: EventData[T]) =>
    events.push({seq: events.length + 1, at: new Date(Date.UTC(2026, 0, 1, 0, 0, events.length + 1)).toISOString(), actor: testActor, type, data: data as unknown as Record<string, unknown>})
  add('run.started', runStarted(config, 'run-1', 'v2', 'v1', frozen ? {frozen: freezeConfig(config)} : {}))
  add('driver.attached', {epoch: 1, takeover: false})
  return events
}

function refusal(run: () => unknown): ConfigError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('it was not refused')
}

const options = {state: STATE, by: 'ann@laptop (pid 7)', env: ENV}

afterEach(() => clearRegisteredSecrets())

describe('configForRun', () => {
  it('drives a run whose gray.yaml is unchanged with gray.yaml\'s config itself', () => {
    const config = gray()
    const events = journal(config)
    expect(configForRun(events, gray(), {...options, choice: 'refuse'}).config).toEqual(config)
    expect(configForRun(events, config, {...options, choice: 'refuse'})).toEqual({config})
  })

  it('without gray.yaml, drives with the run\'s own config filled from this machine\'s environment', () => {
    const events = journal(gray())
    const {config} = configForRun(events, undefined, {...options, env: {EDGE_TOKEN: 'on-call-token-Cc33Dd44'}})
    expect(config.gateway).toMatchObject({type: 'http', token: 'on-call-token-Cc33Dd44'})
    expect(config).toMatchObject({file: '/srv/ci/gray.yaml', state: STATE, steps: [{weight: 10, pause: true}, {weight: 100, bakeMs: 1000}]})
  })

  it('refuses (exit 2, nothing done) when a variable of the run\'s config is unset here', () => {
    const error = refusal(() => configForRun(journal(gray()), undefined, {...options, env: {}}))
    expect(error.exitCode).toBe(ExitCode.usage)
    expect(error.message).toMatch(/reads environment variable EDGE_TOKEN for gateway\.token, and it is unset here; nothing was done/)
  })

  it('refuses a changed gray.yaml with the changed keys, unless it is adopted', () => {
    const events = journal(gray('1s'))
    const error = refusal(() => configForRun(events, gray('5s'), {...options, choice: 'refuse'}))
    expect(error.exitCode).toBe(ExitCode.usage)
    expect(error.message).toBe('the run was started with a different gray.yaml; pass --adopt-config to drive with the new one')
    expect(error.hint).toBe('changed: steps[1].bake: 1s → 5s; nothing was done')
  })

  it('drives a changed gray.yaml\'s run with the run\'s own config when asked to (rollback, pause, an agent), and says so', () => {
    const events = journal(gray('1s'))
    const chosen = configForRun(events, gray('5s'), {...options, choice: 'frozen'})
    expect(chosen.config.steps[1]?.bakeMs).toBe(1000)
    expect(chosen.adopted).toBeUndefined()
    expect(chosen.note).toMatch(/^gray\.yaml differs from the config this run drives with \(steps\[1\]\.bake: 1s → 5s\); driving with the run's own config/)
  })

  it('adopts a changed gray.yaml: the event names the changed keys and the new hash, and from then on that config is the run\'s', () => {
    const events = journal(gray('1s'))
    const changed = gray('5s')
    const chosen = configForRun(events, changed, {...options, choice: 'adopt'})
    expect(chosen.config).toBe(changed)
    const adopted = chosen.adopted as EventData['config.adopted']
    expect(adopted).toMatchObject({changed: ['steps[1].bake'], by: 'ann@laptop (pid 7)', previousHash: (events[0]?.data as {configHash: string}).configHash})
    expect(adopted.hash).toBe(freezeConfig(changed).hash)
    expect(JSON.stringify(adopted)).not.toContain(ENV.EDGE_TOKEN)

    events.push({seq: 3, at: '2026-01-01T00:00:03.000Z', actor: testActor, type: 'config.adopted', data: adopted as unknown as Record<string, unknown>})
    expect(frozenOf(events)?.hash).toBe(adopted.hash)
    // the same gray.yaml again needs no adoption; the one the run started with is now a change
    expect(configForRun(events, gray('5s'), {...options, choice: 'refuse'}).config.steps[1]?.bakeMs).toBe(5000)
    expect(refusal(() => configForRun(events, gray('1s'), {...options, choice: 'refuse'})).hint).toBe('changed: steps[1].bake: 5s → 1s; nothing was done')
    // without gray.yaml the adopted config drives
    expect(configForRun(events, undefined, options).config.steps[1]?.bakeMs).toBe(5000)

    const state = replay(events)
    expect(state.config).toEqual({hash: adopted.hash, startedHash: adopted.previousHash, adopted: {hash: adopted.hash, by: 'ann@laptop (pid 7)', at: '2026-01-01T00:00:03.000Z', changed: ['steps[1].bake']}})
    expect(summarize(events[2] as JournalEvent)).toBe(`config adopted by ann@laptop (pid 7): gray.yaml's config ${adopted.hash.slice(0, 12)} drives from here (changed: steps[1].bake)`)
  })

  it('adopting refuses a gray.yaml that holds a secret\'s value: it would go to the journal', () => {
    const events = journal(gray('1s'))
    const literal = configFromObject(
      {service: 'shop', hosts: {stable: ['10.0.0.21:8080'], gray: ['10.0.0.11:8080']}, deploy: {command: ['deploy']}, gateway: {type: 'http', url: 'http://127.0.0.1:9/p/{service}', token: 'literal-token-Ee55'}, steps: [{weight: 100, bake: '1s'}]},
      '/srv/ci/gray.yaml',
      {},
    )
    expect(refusal(() => configForRun(events, literal, {...options, choice: 'adopt'})).message).toMatch(/^gateway\.token: must take its secret from the environment/)
  })

  it('drives a run started before runs kept their config with gray.yaml, as before; without gray.yaml it cannot', () => {
    const config = gray()
    const events = journal(config, false)
    expect(frozenOf(events)).toBeNull()
    expect(replay(events).config).toBeUndefined()
    expect(configForRun(events, gray('5s'), {...options, choice: 'refuse'}).config.steps[1]?.bakeMs).toBe(5000)
    expect(refusal(() => configForRun(events, undefined, options)).message).toMatch(/started before gray kept a run's config/)
  })
})
