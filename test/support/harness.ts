import type {GrayConfig} from '../../src/core/config/model.js'
import {runStarted} from '../../src/core/run/begin.js'
import {RunDriver, type DriverOptions, type Outcome} from '../../src/core/run/driver.js'
import {replay, type RunState} from '../../src/core/run/state.js'
import {FakeClock, FakeDeployer, healthy, MemoryGateway, MemoryInbox, MemoryJournal, ScriptedSource, testActor, testConfig} from './fakes.js'

export function harness(overrides: Partial<GrayConfig> = {}, options: Partial<DriverOptions> = {}) {
  const config = testConfig(overrides)
  const clock = new FakeClock()
  const journal = new MemoryJournal(clock)
  const gateway = new MemoryGateway(clock)
  const deployer = new FakeDeployer(clock, [...config.hosts.gray, ...config.hosts.stable])
  const source = new ScriptedSource(() => healthy())
  const inbox = new MemoryInbox()
  const h = {
    config,
    clock,
    journal,
    gateway,
    deployer,
    source,
    inbox,
    driver(): RunDriver {
      return new RunDriver({config, journal, gateway, deployer, sources: {m: source}, clock, inbox, actor: testActor, options})
    },
    async begin(version = 'v2', previousVersion: string | null = 'v1', cohortSeed: string | null = null): Promise<void> {
      await journal.append('run.started', runStarted(config, 'run-1', version, previousVersion, cohortSeed) as unknown as Record<string, unknown>)
    },
    /** starts a run and drives it to its end (or hold) in virtual time */
    async start(version = 'v2', previousVersion: string | null = 'v1'): Promise<Outcome> {
      await h.begin(version, previousVersion)
      return clock.run(h.driver().drive())
    },
    /** another driver takes the run over from the journal, as `gray start` again would */
    async resume(): Promise<Outcome> {
      return clock.run(h.driver().drive())
    },
    state(): RunState {
      return replay(journal.events())
    },
  }
  return h
}
