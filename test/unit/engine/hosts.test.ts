// Hosts across the life of a run: conversions and completion in batches,
// failures (retries, logs, tolerance), rollback of every changed host, hooks
// and their idempotence across a takeover.
import {describe, expect, it} from 'vitest'

import type {GrayConfig, Host, HookStage} from '../../../src/core/config/model.js'
import {DeployError} from '../../../src/core/errors.js'
import type {HookContext, HookResult, HookRunner} from '../../../src/core/hooks.js'
import type {DeployRequest, DeployResult, JournalEvent, JournalWriter, Policy} from '../../../src/core/ports.js'
import type {DeployLog, DeployLogs} from '../../../src/core/run/deploy-logs.js'
import {RunDriver, type DriverDeps} from '../../../src/core/run/driver.js'
import {batchSize, failureBudget} from '../../../src/core/run/next.js'
import {FakeDeployer, MemoryJournal, testActor} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

type Harness = ReturnType<typeof harness>

const fleet = (stable: number, gray = 1) => ({
  gray: Array.from({length: gray}, (_, i): Host => ({name: `g${i + 1}`, address: `10.0.1.${i + 1}:8080`})),
  stable: Array.from({length: stable}, (_, i): Host => ({name: `s${i + 1}`, address: `10.0.2.${i + 1}:8080`})),
})

const quick = [
  {weight: 1, bakeMs: 60_000, pause: false},
  {weight: 10, bakeMs: 60_000, pause: false},
  {weight: 50, bakeMs: 60_000, pause: false},
  {weight: 100, bakeMs: 60_000, pause: false},
]

function setup(overrides: Partial<GrayConfig> = {}, deploy: Partial<GrayConfig['deploy']> = {}): Harness {
  const h = harness({steps: quick.map((s) => ({...s})), gates: undefined, ...overrides})
  Object.assign(h.config.deploy, deploy)
  // the harness's deployer knows only the default hosts
  for (const host of [...h.config.hosts.gray, ...h.config.hosts.stable]) h.deployer.versions.set(host.address, 'v1')
  return h
}

function driverOf(h: Harness, extra: Partial<DriverDeps> = {}, journal: JournalWriter = h.journal): RunDriver {
  return new RunDriver({config: h.config, journal, gateway: h.gateway, deployer: h.deployer, sources: {m: h.source}, clock: h.clock, inbox: h.inbox, actor: testActor, ...extra})
}

async function start(h: Harness, extra: Partial<DriverDeps> = {}, previous: string | null = 'v1') {
  await h.begin('v2', previous)
  return h.clock.run(driverOf(h, extra).drive())
}

/** The largest number of deploys of `purpose` in flight at once, read from the journal. */
function peakInFlight(events: readonly JournalEvent[], purpose?: string): number {
  const open = new Set<string>()
  let peak = 0
  for (const e of events) {
    if (e.type === 'host.deploy.started' && (!purpose || e.data.purpose === purpose)) open.add(String(e.data.host))
    if (e.type === 'host.deploy.succeeded' || e.type === 'host.deploy.failed') open.delete(String(e.data.host))
    peak = Math.max(peak, open.size)
  }
  return peak
}

const addresses = (hosts: Host[]) => hosts.map((x) => x.address)
const served = (p: Policy) => [...addresses(p.stable), ...addresses(p.gray)]

class MemoryLogs implements DeployLogs {
  readonly files = new Map<string, string[]>()
  open(host: Host, attempt: number): DeployLog {
    const where = `logs/${host.name}-${attempt}.log`
    const lines: string[] = []
    this.files.set(where, lines)
    return {where, write: (line) => void lines.push(line), close: async () => undefined}
  }
}

/** A deployer that prints `lines` lines per attempt and fails the hosts it is told to. */
class ChattyDeployer extends FakeDeployer {
  lines = 50
  failing = new Set<string>()
  /** the output's last lines when failing; default: its last 20 lines */
  tail?: string[]
  override async deploy(req: DeployRequest): Promise<DeployResult> {
    const all = Array.from({length: this.lines}, (_, i) => `${req.host.name} line ${i + 1}`)
    for (const line of all) req.onOutput?.(line)
    if (this.failing.has(req.host.address)) {
      this.calls.push({host: req.host.address, version: req.version})
      throw new DeployError(`deploy of ${req.version} to ${req.host.name} failed with exit code 2`, req.host.name, this.tail ?? all.slice(-20))
    }
    return super.deploy(req)
  }
}

class MemoryHooks implements HookRunner {
  readonly calls: Array<{stage: HookStage; argv: string[]; ctx: HookContext}> = []
  /** stage → failures to report before it passes */
  readonly failures = new Map<HookStage, number>()
  async run(stage: HookStage, argv: string[], ctx: HookContext): Promise<HookResult> {
    this.calls.push({stage, argv, ctx})
    const left = this.failures.get(stage) ?? 0
    if (left > 0) {
      this.failures.set(stage, left - 1)
      return {ok: false, exitCode: 7, error: 'failed with exit code 7', outputTail: ['smoke test: 3 of 40 checks failed'], durationMs: 5}
    }
    return {ok: true, exitCode: 0, outputTail: [`${stage} ok`], durationMs: 5}
  }
  keys(): string[] {
    return this.calls.map((c) => c.stage)
  }
}

const allHooks = {
  timeoutMs: 60_000,
  beforeDeploy: ['hook', 'before-deploy'],
  afterDeploy: ['hook', 'after-deploy'],
  beforeTraffic: ['hook', 'before-traffic'],
  afterTraffic: ['hook', 'after-traffic'],
  onRollback: ['hook', 'on-rollback'],
  onComplete: ['hook', 'on-complete'],
}

describe('batch size and failure budget', () => {
  const config = (deploy: Partial<GrayConfig['deploy']>) => setup({}, deploy).config
  it('defaults to a quarter of all hosts (at least 1), never more than deploy.concurrency', () => {
    expect(batchSize(config({}), 4)).toBe(1)
    expect(batchSize(config({}), 3)).toBe(1)
    expect(batchSize(config({}), 40)).toBe(10)
    expect(batchSize(config({}), 400)).toBe(10)
    expect(batchSize(config({concurrency: 50}), 400)).toBe(50)
  })
  it('takes deploy.maxUnavailable as a count or a share', () => {
    expect(batchSize(config({maxUnavailable: {count: 3}}), 100)).toBe(3)
    expect(batchSize(config({maxUnavailable: {percent: 50}}), 10)).toBe(5)
    expect(batchSize(config({maxUnavailable: {percent: 1}}), 10)).toBe(1)
  })
  it('allows no failure by default, and floor(maxFailPercent of all hosts) otherwise', () => {
    expect(failureBudget(config({}), 100)).toBe(0)
    expect(failureBudget(config({maxFailPercent: 10}), 20)).toBe(2)
    expect(failureBudget(config({maxFailPercent: 10}), 9)).toBe(0)
  })
})

describe('hosts: conversions and completion in batches', () => {
  it('converts a step’s hosts a batch at a time, each drained before its deploy: never more than maxUnavailable out of service', async () => {
    const h = setup({hosts: fleet(8)}, {maxUnavailable: {count: 2}})
    h.config.steps[1]!.hosts = {percent: 50}
    const out = await start(h)
    expect(out.state.status).toBe('completed')
    expect(peakInFlight(h.journal.list, 'step')).toBe(2)
    const drains = h.gateway.published.filter((p, i) => h.journal.ofType('gateway.publish.started')[i]!.data.purpose === 'drain')
    // the gray pool before its deploy, then the step's two batches
    expect(drains).toHaveLength(3)
    // at every publish while the run splits traffic, at most 2 hosts are in neither upstream
    const all = addresses([...h.config.hosts.gray, ...h.config.hosts.stable])
    for (const p of h.gateway.published.filter((x) => x.mode === 'split' && x.weightBp < 10_000)) {
      expect(all.filter((a) => !served(p).includes(a)).length).toBeLessThanOrEqual(2)
    }
    // the first batch joined the gray upstream when the second was drained, before the step's weight
    expect(drains[2]!.gray.map((x) => x.name)).toEqual(['g1', 's1', 's2'])
    const at10 = h.gateway.published.find((p) => p.weightBp === 1000)!
    expect(at10.gray.map((x) => x.name)).toEqual(['g1', 's1', 's2', 's3', 's4'])
  })

  it('completes the remaining hosts in batches of min(concurrency, maxUnavailable) at 100%, then publishes the plain form', async () => {
    const h = setup({hosts: fleet(9)}, {concurrency: 3})
    const out = await start(h)
    expect(out.state.status).toBe('completed')
    // 10 hosts: 25% is 2, under the concurrency of 3
    expect(peakInFlight(h.journal.list, 'complete')).toBe(2)
    const types = h.journal.list.map((e) => `${e.type}:${String(e.data.purpose ?? '')}`)
    expect(types.indexOf('host.deploy.started:complete')).toBeGreaterThan(types.lastIndexOf('gateway.publish.confirmed:step'))
    expect(h.gateway.published.at(-2)!.weightBp).toBe(10_000)
    expect(h.gateway.served?.mode).toBe('plain')
    expect(h.gateway.served?.stable).toHaveLength(10)
    expect([...h.deployer.versions.values()].every((v) => v === 'v2')).toBe(true)
    expect(h.journal.ofType('run.completed')[0]!.data.failedHosts).toEqual([])
  })

  it('a 1,000-host completion finishes with every host on the new version', async () => {
    const h = setup({hosts: fleet(999)}, {concurrency: 50})
    h.deployer.durationMs = 200
    const out = await start(h)
    expect(out.state.status).toBe('completed')
    expect(peakInFlight(h.journal.list, 'complete')).toBe(50)
    expect(out.state.hosts.filter((x) => x.version === 'v2')).toHaveLength(1000)
    expect(h.gateway.served?.stable).toHaveLength(1000)
  })
})

describe('hosts: failures', () => {
  it('the pause reason quotes the error lines of the deploy output, escaped and with secrets masked', async () => {
    const secret = 'hunter2-deploy-token'
    process.env.GRAY_TEST_DEPLOY_TOKEN = secret
    try {
      const h = setup({}, {retries: 0})
      const deployer = new ChattyDeployer(h.clock, [...h.config.hosts.gray, ...h.config.hosts.stable])
      deployer.failing.add('10.0.0.11:8080')
      deployer.tail = ['Pulling image', `\x1b[31mERROR: auth ${secret} refused\x1b[0m`, 'rsync: write failed: No space left on device', 'cleaning up']
      const out = await start(h, {deployer})
      expect(out.exitCode).toBe(4)
      expect(out.state.reason).toContain('it said: "\\x1b[31mERROR: auth *** refused\\x1b[0m" / "rsync: write failed: No space left on device"; fix the deploy')
      expect(out.state.reason).not.toContain(secret)
      expect(out.state.reason).not.toContain('\x1b')
    } finally {
      delete process.env.GRAY_TEST_DEPLOY_TOKEN
    }
  })

  it('retries deploy.retries times, then holds naming the host, its error and where its full output is', async () => {
    const h = setup({}, {retries: 3})
    const deployer = new ChattyDeployer(h.clock, [...h.config.hosts.gray, ...h.config.hosts.stable])
    deployer.failing.add('10.0.0.11:8080')
    const logs = new MemoryLogs()
    const out = await start(h, {deployer, deployLogs: logs})
    expect(out.exitCode).toBe(4)
    // its last line (no line reads as an error), where the rest is, and what to do: not "see gray status", which repeats this
    expect(out.state.reason).toBe(
      'deploy of v2 failed on g1: deploy of v2 to g1 failed with exit code 2; it said: "g1 line 50" (full output in logs/g1-4.log); fix the deploy, then `gray resume` retries it, or `gray rollback`',
    )
    const failed = h.journal.ofType('host.deploy.failed')
    expect(failed.map((e) => e.data.attempt)).toEqual([1, 2, 3, 4])
    expect(failed[0]!.data.outputTail).toHaveLength(20)
    expect(failed[0]!.data.log).toBe('logs/g1-1.log')
    // every attempt's whole output is kept, one file each
    expect([...logs.files.keys()]).toEqual(['logs/g1-1.log', 'logs/g1-2.log', 'logs/g1-3.log', 'logs/g1-4.log'])
    for (const lines of logs.files.values()) expect(lines.filter((l) => l.startsWith('g1 line'))).toHaveLength(50)
    // only the drain that took the gray pool out of service: no gray weight was published
    expect(h.gateway.published.map((p) => p.weightBp)).toEqual([0])

    // a resume retries; its attempts get new log files
    deployer.failing.clear()
    h.inbox.post('resume')
    const again = await h.clock.run(driverOf(h, {deployer, deployLogs: logs}).drive())
    expect(again.state.status).toBe('completed')
    expect(logs.files.has('logs/g1-5.log')).toBe(true)
    expect(h.journal.ofType('host.deploy.succeeded').find((e) => e.data.host === '10.0.0.11:8080')!.data.log).toBe('logs/g1-5.log')
  })

  it('never routes traffic to a host whose deploy failed, before or during the rollback that follows', async () => {
    const h = setup({hosts: fleet(4)}, {retries: 1})
    h.config.steps[1]!.hosts = {count: 2}
    const deployer = new ChattyDeployer(h.clock, [...h.config.hosts.gray, ...h.config.hosts.stable])
    deployer.lines = 1
    deployer.failing.add('10.0.2.2:8080')
    const out = await start(h, {deployer})
    expect(out.exitCode).toBe(4)
    expect(out.state.reason).toMatch(/failed on s2/)
    expect(out.state.hosts.find((x) => x.name === 's2')!.healthy).toBe(false)
    h.inbox.post('rollback')
    const back = await h.clock.run(driverOf(h, {deployer}).drive())
    expect(back.exitCode).toBe(3)
    const started = h.journal.list.find((e) => e.type === 'host.deploy.started' && e.data.host === '10.0.2.2:8080')!.seq
    const after = h.journal.ofType('gateway.publish.started').filter((e) => e.seq > started)
    expect(after.map((e) => e.data.purpose)).toEqual(['rollback'])
    for (const e of after) expect([...(e.data.gray as string[]), ...(e.data.stable as string[])]).not.toContain('10.0.2.2:8080')
    // s2 could not be reverted either, so the gateway keeps it out: no plain form
    expect(back.state.warnings.join(' ')).toMatch(/could not revert 10\.0\.2\.2:8080 to v1/)
    expect(h.gateway.served?.mode).toBe('split')
  })

  it('with deploy.maxFailPercent, completion finishes past a few bad hosts, names them, and keeps them out of the plain form', async () => {
    const h = setup({hosts: fleet(19)}, {maxFailPercent: 10, retries: 0})
    const deployer = new ChattyDeployer(h.clock, [...h.config.hosts.gray, ...h.config.hosts.stable])
    deployer.lines = 1
    deployer.failing.add('10.0.2.7:8080').add('10.0.2.13:8080')
    const out = await start(h, {deployer})
    expect(out.exitCode).toBe(0)
    expect(out.state.status).toBe('completed')
    expect(h.journal.ofType('host.abandoned').map((e) => e.data.name)).toEqual(['s7', 's13'])
    expect(h.journal.ofType('run.completed')[0]!.data.failedHosts).toEqual(['10.0.2.7:8080', '10.0.2.13:8080'])
    expect(h.gateway.served?.mode).toBe('plain')
    expect(addresses(h.gateway.served!.stable)).toHaveLength(18)
    expect(addresses(h.gateway.served!.stable)).not.toContain('10.0.2.7:8080')
  })

  it('holds once failures pass deploy.maxFailPercent', async () => {
    const h = setup({hosts: fleet(19)}, {maxFailPercent: 10, retries: 0, maxUnavailable: {count: 1}})
    const deployer = new ChattyDeployer(h.clock, [...h.config.hosts.gray, ...h.config.hosts.stable])
    deployer.lines = 1
    for (const n of [3, 5, 8]) deployer.failing.add(`10.0.2.${n}:8080`)
    const out = await start(h, {deployer})
    expect(out.exitCode).toBe(4)
    expect(out.state.reason).toMatch(/^deploy of v2 failed on s8:/)
    expect(h.journal.ofType('host.abandoned')).toHaveLength(2)
    // batches of one: nothing after the third failure was deployed
    expect(deployer.calls.some((c) => c.host === '10.0.2.9:8080' && c.version === 'v2')).toBe(false)
    expect(h.gateway.served?.mode).toBe('split')
  })
})

describe('hosts: rollback', () => {
  it('puts every host that got the new version back — gray pool and converted stable hosts — and touches no other', async () => {
    const h = setup({hosts: fleet(6)})
    h.config.steps[1]!.hosts = {count: 1}
    h.config.steps[2]!.hosts = {percent: 50}
    h.clock.at(160_000, () => h.inbox.post('rollback', {reason: 'at 50%'}))
    const out = await start(h)
    expect(out.exitCode).toBe(3)
    expect(h.journal.ofType('step.started').map((e) => e.data.weight)).toEqual([1, 10, 50])
    const reverted = h.journal.ofType('run.rolled_back')[0]!.data.reverted as string[]
    expect(reverted.sort()).toEqual(['10.0.1.1:8080', '10.0.2.1:8080', '10.0.2.2:8080', '10.0.2.3:8080'])
    expect([...h.deployer.versions.values()].every((v) => v === 'v1')).toBe(true)
    for (const untouched of ['10.0.2.4:8080', '10.0.2.5:8080', '10.0.2.6:8080']) expect(h.deployer.deploysOf(untouched)).toBe(0)
    expect(h.gateway.served?.mode).toBe('plain')
  })
})

describe('hooks', () => {
  it('run at every stage in order, with the run’s variables', async () => {
    const h = setup({hosts: fleet(3), hooks: allHooks})
    h.config.steps[1]!.hosts = {count: 1}
    const hooks = new MemoryHooks()
    const out = await start(h, {hooks})
    expect(out.state.status).toBe('completed')
    const order = h.journal.ofType('hook.ran').map((e) => `${String(e.data.stage)}:${String(e.data.key)}`)
    expect(order).toEqual([
      'beforeDeploy:gray',
      'afterDeploy:gray',
      'beforeTraffic:step-0',
      'afterTraffic:step-0',
      'beforeDeploy:step-1',
      'afterDeploy:step-1',
      'beforeTraffic:step-1',
      'afterTraffic:step-1',
      'beforeTraffic:step-2',
      'afterTraffic:step-2',
      'beforeTraffic:step-3',
      'afterTraffic:step-3',
      'beforeDeploy:complete',
      'afterDeploy:complete',
      'beforeTraffic:plain',
      'afterTraffic:plain',
      'onComplete:complete',
    ])
    const beforeStep1 = hooks.calls.find((c) => c.stage === 'beforeTraffic' && c.ctx.step === 1)!
    expect(beforeStep1.ctx).toMatchObject({service: 'checkout', runId: 'run-1', version: 'v2', previousVersion: 'v1', weight: 10})
    expect(hooks.calls.find((c) => c.stage === 'beforeDeploy' && c.ctx.step === 1)!.ctx.hosts).toEqual(['s1'])
    // a before-traffic hook ran before its publish, an after-traffic hook after the gateway confirmed it
    const seqOf = (pred: (e: JournalEvent) => boolean) => h.journal.list.find(pred)!.seq
    const publish10 = seqOf((e) => e.type === 'gateway.publish.started' && e.data.weightBp === 1000)
    const confirm10 = seqOf((e) => e.type === 'gateway.publish.confirmed' && e.data.weightBp === 1000)
    expect(seqOf((e) => e.type === 'hook.ran' && e.data.key === 'step-1' && e.data.stage === 'beforeTraffic')).toBeLessThan(publish10)
    expect(seqOf((e) => e.type === 'hook.started' && e.data.key === 'step-1' && e.data.stage === 'afterTraffic')).toBeGreaterThan(confirm10)
    expect(seqOf((e) => e.type === 'hook.ran' && e.data.stage === 'onComplete')).toBeLessThan(seqOf((e) => e.type === 'run.completed'))
  })

  it('a failing before-hook holds the run naming the hook; resume runs it again and goes on', async () => {
    const h = setup({hooks: {timeoutMs: 60_000, beforeTraffic: ['./smoke-test', '{version}']}})
    const hooks = new MemoryHooks()
    hooks.failures.set('beforeTraffic', 1)
    const first = await start(h, {hooks})
    expect(first.exitCode).toBe(4)
    expect(first.state.reason).toMatch(/^hook beforeTraffic \(\.\/smoke-test\) failed with exit code 7: smoke test: 3 of 40 checks failed/)
    expect(h.gateway.published.map((p) => p.weightBp)).toEqual([0])
    expect(h.journal.ofType('hook.ran')[0]!.data.outputTail).toEqual(['smoke test: 3 of 40 checks failed'])
    h.inbox.post('resume')
    const second = await h.clock.run(driverOf(h, {hooks}).drive())
    expect(second.state.status).toBe('completed')
    expect(hooks.calls.filter((c) => c.ctx.step === 0)).toHaveLength(2)
    expect(hooks.calls.filter((c) => c.ctx.step === 1)).toHaveLength(1)
  })

  it('a failing after- or on-hook is a warning, and the run goes on', async () => {
    const h = setup({hooks: {timeoutMs: 60_000, afterDeploy: ['notify'], onComplete: ['notify']}})
    const hooks = new MemoryHooks()
    hooks.failures.set('afterDeploy', 5).set('onComplete', 1)
    const out = await start(h, {hooks})
    expect(out.state.status).toBe('completed')
    expect(out.state.warnings).toEqual(['hook afterDeploy failed with exit code 7', 'hook afterDeploy failed with exit code 7', 'hook onComplete failed with exit code 7'])
    expect(hooks.keys()).toEqual(['afterDeploy', 'afterDeploy', 'onComplete'])
  })

  it('onRollback runs once the hosts are back, before the run is rolled back; a before-hook never blocks a rollback', async () => {
    const h = setup({hooks: allHooks})
    const hooks = new MemoryHooks()
    hooks.failures.set('onRollback', 1)
    h.clock.at(90_000, () => h.inbox.post('rollback'))
    const out = await start(h, {hooks})
    expect(out.exitCode).toBe(3)
    expect(hooks.keys().filter((k) => k.startsWith('on'))).toEqual(['onRollback'])
    expect(out.state.warnings).toContain('hook onRollback failed with exit code 7')
    const types = h.journal.types()
    expect(types.lastIndexOf('hook.ran')).toBe(types.indexOf('run.rolled_back') - 1)
    expect([...h.deployer.versions.values()].every((v) => v === 'v1')).toBe(true)
  })

  it('refuses to drive when hooks are configured and no runner was given', async () => {
    const h = setup({hooks: {timeoutMs: 1000, onComplete: ['x']}})
    await h.begin()
    await expect(h.clock.run(driverOf(h).drive())).rejects.toThrow(/hooks onComplete are configured but this driver was given no hook runner/)
  })
})

/** A journal that dies (as kill -9 would) after a number of appends. */
class DyingJournal implements JournalWriter {
  constructor(
    private readonly base: MemoryJournal,
    private left: number,
  ) {}
  async append(type: string, data: Record<string, unknown>): Promise<JournalEvent> {
    if (this.left-- <= 0) throw new Error('killed')
    return this.base.append(type, data)
  }
  events() {
    return this.base.events()
  }
}

describe('hosts and hooks: taken over after a crash at any journal point', () => {
  it('no host deployed twice but the ones in flight, no hook run twice but the one in flight', async () => {
    const make = () => {
      const h = setup({hosts: fleet(6), hooks: allHooks}, {maxUnavailable: {count: 2}})
      h.config.steps[1]!.hosts = {count: 1}
      h.config.steps[2]!.hosts = {percent: 50}
      return h
    }
    const reference = make()
    await start(reference, {hooks: new MemoryHooks()})
    const hookCount = reference.journal.ofType('hook.ran').length
    expect(hookCount).toBe(19)
    const total = reference.journal.list.length - 1
    for (let point = 1; point < total; point += 3) {
      const h = make()
      const hooks = new MemoryHooks()
      await h.begin()
      await expect(h.clock.run(driverOf(h, {hooks}, new DyingJournal(h.journal, point)).drive())).rejects.toThrow('killed')
      const atCrash = h.journal.list.length
      const out = await h.clock.run(driverOf(h, {hooks}).drive())
      expect(out.state.status, `killed after ${point}`).toBe('completed')
      const before = h.journal.list.slice(0, atCrash)
      const inFlight = (started: string, ended: string[], key: (e: JournalEvent) => string) => {
        const open = new Set<string>()
        for (const e of before) {
          if (e.type === started) open.add(key(e))
          if (ended.includes(e.type)) open.delete(key(e))
        }
        return open
      }
      const hostsInFlight = inFlight('host.deploy.started', ['host.deploy.succeeded', 'host.deploy.failed'], (e) => String(e.data.host))
      for (const [address] of h.deployer.versions) {
        expect(h.deployer.deploysOf(address, 'v2'), `${address} after kill at ${point}`).toBe(hostsInFlight.has(address) ? 2 : 1)
      }
      const hookInFlight = inFlight('hook.started', ['hook.ran'], (e) => `${String(e.data.stage)}:${String(e.data.key)}`)
      const runs = new Map<string, number>()
      for (const e of h.journal.ofType('hook.started')) {
        const id = `${String(e.data.stage)}:${String(e.data.key)}`
        runs.set(id, (runs.get(id) ?? 0) + 1)
      }
      for (const [id, n] of runs) expect(n, `${id} after kill at ${point}`).toBe(hookInFlight.has(id) ? 2 : 1)
      expect([...runs.keys()].sort(), `hooks run after kill at ${point}`).toEqual(reference.journal.ofType("hook.ran").map((e) => `${String(e.data.stage)}:${String(e.data.key)}`).sort())
      expect([...h.deployer.versions.values()].every((v) => v === 'v2')).toBe(true)
    }
  })
})
