// What a CI job relies on, through the real CLI against a live sandbox: nothing
// prompts, confirmations need --yes, every --json output matches its checked-in
// JSON Schema, and `status --wait` exits with the run's code (4 on --timeout).
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {isTerminal, replay} from '../../src/core/run/state.js'
import {gray, run, type CliResult} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {jsonProblems} from '../support/results.js'

// a --json document, read by the assertions below (its shape is checked against its schema at the end)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any

let live: Live
const outputs: Array<{command: string; r: CliResult}> = []

async function json(args: string[], options: {config?: string; timeoutMs?: number} = {}): Promise<CliResult & {doc: Doc}> {
  const r = await run([...args, '--json', ...(options.config ? ['-c', options.config] : [])], {cwd: live.dir, timeoutMs: options.timeoutMs})
  outputs.push({command: args[0] as string, r})
  return {...r, doc: r.stdout ? JSON.parse(r.stdout) : null}
}

beforeAll(async () => {
  live = await startLive({service: 'cart'})
  // the same service with a step that waits for `gray promote`
  const text = readFileSync(path.join(live.dir, 'gray.yaml'), 'utf8')
  writeFileSync(path.join(live.dir, 'manual.yaml'), text.replace(/^steps: .*$/m, 'steps: [{weight: 10, bake: 1s, pause: true}, {weight: 100, bake: 1s}]'))
  // and with a first bake no loaded `gray pause` can miss: a promote ends it, never the clock
  writeFileSync(path.join(live.dir, 'slow.yaml'), text.replace(/^steps: .*$/m, 'steps: [{weight: 1, bake: 30m}, {weight: 100, bake: 1s}]'))
}, 60_000)

afterAll(async () => live?.stop())

// a test that failed mid-run leaves its run unfinished: it is rolled back here, so the next test's start is not
// refused for it (the history test below still says what the runs were)
afterEach(async () => {
  const events = await live.journal()
  if (events.length === 0 || isTerminal(replay(events))) return
  await run(['rollback', '--yes', '--reason', 'left unfinished by a failed test'], {cwd: live.dir, timeoutMs: 240_000})
}, 300_000)

// each test runs two to five CLI processes, each starting up in 5 to 25 s on a loaded machine (the three refusals:
// 59 s at a load of 14, 105 s at a load of 22)
describe('CI contracts through bin/run.js', {timeout: 480_000}, () => {
  it('validate, plan, status (no run yet) and cohort answer in JSON', async () => {
    expect((await json(['validate'])).exitCode).toBe(0)
    const plan = await json(['plan', '--version', 'v2'])
    expect(plan.exitCode).toBe(0)
    expect(plan.doc.steps).toHaveLength(3)
    const status = await json(['status'])
    expect(status.exitCode).toBe(0)
    expect(status.doc).toEqual({service: 'cart', run: null, events: []})
    const cohort = await json(['cohort', 'uid=u42'])
    expect(cohort.exitCode, cohort.stderr).toBe(0)
    expect(cohort.doc.steps).toHaveLength(3)
  })

  it('without a TTY and without --yes, start/promote/rollback exit 2 naming --yes, and nothing starts', async () => {
    for (const args of [['start', '--version', 'v2'], ['rollback'], ['promote']]) {
      const r = await json(args)
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.doc.error.message).toContain('--yes')
    }
    expect(await live.journal()).toEqual([])
  })

  it('`status --wait --timeout 30m` blocks while a run goes on and exits 0 once it completed', async () => {
    const start = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes', '--json'], {cwd: live.dir, timeoutMs: 300_000})
    await live.until('the run to start', (events) => events.some((e) => e.type === 'step.started'))
    const waited = await json(['status', '--wait', '--timeout', '30m'], {timeoutMs: 150_000})
    const started = await start
    outputs.push({command: 'start', r: {exitCode: started.exitCode ?? -1, stdout: String(started.stdout), stderr: String(started.stderr)}})
    expect(started.exitCode, String(started.stderr)).toBe(0)
    expect(waited.exitCode, waited.stderr).toBe(0)
    expect(waited.doc.run.state).toBe('completed')
    // --wait returned only after the run ended: its last event is the completion
    expect(waited.doc.events.at(-1).type).toBe('run.completed')
  })

  it('a run that waits for promote: start --detach exits 4 (UNGUARDED), `status --wait --timeout 2s` exits 4, rollback 3, then --wait 3', async () => {
    const started = await json(['start', '--version', 'v3', '--yes', '--detach'], {config: 'manual.yaml', timeoutMs: 150_000})
    expect(started.exitCode, started.stderr).toBe(4)
    expect(started.doc.run.state).toBe('waiting')
    expect(started.stderr).toContain('the run is now UNGUARDED until `gray promote`')
    const timedOut = await json(['status', '--wait', '--timeout', '2s'], {config: 'manual.yaml'})
    expect(timedOut.exitCode).toBe(4)
    expect(timedOut.doc.run.state).toBe('waiting')
    const rolled = await json(['rollback', '--yes', '--reason', 'the CI job said no'], {config: 'manual.yaml', timeoutMs: 150_000})
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    const waited = await json(['status', '--wait'], {config: 'manual.yaml'})
    expect(waited.exitCode).toBe(3)
    expect(waited.doc.run.reason).toBe('the CI job said no')
  })

  it('pause (exit 4; start --detach leaves) and resume (drives it on to completion once promoted, exit 0) of a live run', async () => {
    const start = gray(['start', '--version', 'v4', '--yes', '--detach', '-c', 'slow.yaml'], {cwd: live.dir, timeoutMs: 240_000})
    await live.until('the bake of step 1', (events) => replay(events).status === 'baking')
    const paused = await json(['pause', '--reason', 'lunch'], {config: 'slow.yaml'})
    expect(paused.exitCode, paused.stderr).toBe(4)
    expect(paused.doc.run.state).toBe('paused')
    expect((await start).exitCode).toBe(4)
    const resume = gray(['resume', '--json', '-c', 'slow.yaml'], {cwd: live.dir, timeoutMs: 240_000})
    // resume drives the run on: its 30-minute bake again, which a promote from another terminal ends
    await live.until('the resumed bake', (events) => events.some((e) => e.type === 'run.resumed') && replay(events).status === 'baking')
    const promoted = await json(['promote', '--yes'], {config: 'slow.yaml', timeoutMs: 150_000})
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    const r = await resume
    const resumed = {exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr)}
    outputs.push({command: 'resume', r: resumed})
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout).run.state).toBe('completed')
    // the resume process drove it: the promote was posted to it, not carried out by the promote command
    const events = await live.journal()
    const resumer = events.findLast((e) => e.type === 'driver.attached')!.actor.pid
    expect(events.find((e) => e.type === 'request.received' && e.data.kind === 'promote')?.actor.pid).toBe(resumer)
    expect(events.at(-1)?.type).toBe('run.completed')
  })

  it('history and report answer in JSON', async () => {
    const history = await json(['history'])
    expect(history.doc.runs.map((r: {version: string; outcome: string}) => `${r.version} ${r.outcome}`)).toEqual(['v4 completed', 'v3 rolled_back', 'v2 completed'])
    const report = await json(['report', '--output', 'report.html'])
    expect(report.exitCode, report.stderr).toBe(0)
    expect(report.doc).toMatchObject({service: 'cart', version: 'v4', state: 'completed'})
  })

  it('every --json output above matches schema/results/<command>.schema.json', () => {
    const commands = new Set(outputs.map((o) => o.command))
    expect([...commands].sort()).toEqual(['cohort', 'history', 'pause', 'plan', 'promote', 'report', 'resume', 'rollback', 'start', 'status', 'validate'])
    const problems = outputs.flatMap((o) => jsonProblems(o.command, o.r.stdout, o.r.exitCode))
    expect(problems).toEqual([])
  })
})
