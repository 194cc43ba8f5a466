// hosts.stable from an inventory command, through bin/run.js: `gray plan` shows
// what it read (never a ${VAR} of its argv); a run frozen with it and taken over
// after the inventory changed reports the vanished host and keeps it in the run.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {gray, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

let live: Live
const SECRET = 'inv-token-27182818'

beforeEach(async () => {
  // step 2's bake is held (no loaded poll can miss it, no clock ends it): the takeover test ends it by a promote
  live = await startLive({service: 'shop', steps: '[{weight: 1, bake: 2s}, {weight: 10, bake: 30m}, {weight: 100, bake: 1s}]'})
  // the inventory command prints hosts.json: the same stable hosts live lists, by a command
  writeFileSync(path.join(live.dir, 'hosts.json'), JSON.stringify(live.hosts.stable))
  writeFileSync(path.join(live.dir, 'inventory.mjs'), "import {readFileSync} from 'node:fs'\nprocess.stdout.write(readFileSync(process.argv[2], 'utf8'))\n")
  const file = path.join(live.dir, 'gray.yaml')
  const yaml = readFileSync(file, 'utf8').replace(/^hosts: \{stable: \[[^\]]*\], gray: (\[[^\]]*\])\}$/m, `hosts:\n  stable: {command: ["${process.execPath}", inventory.mjs, hosts.json, "\${INV_TOKEN}"], timeout: 10s}\n  gray: $1`)
  expect(yaml).toContain('inventory.mjs')
  writeFileSync(file, yaml)
})

afterEach(async () => live.stop())

const env = {INV_TOKEN: SECRET}

describe('hosts from an inventory command', () => {
  it('`gray plan` shows what it read, and never the secret in its argv', async () => {
    const text = await run(['plan', '--version', 'v2', '--previous-version', 'v1'], {cwd: live.dir, env})
    expect(text.exitCode, text.stderr).toBe(0)
    const names = live.hosts.stable.map((h) => h.name)
    expect(text.stdout).toContain(`hosts.stable: 2 hosts (${names.join(', ')}) from command \``)
    expect(text.stdout).toContain('inventory.mjs hosts.json ***`')
    expect(text.stdout + text.stderr).not.toContain(SECRET)
    const json = await run(['plan', '--version', 'v2', '--previous-version', 'v1', '--json'], {cwd: live.dir, env})
    const plan = JSON.parse(json.stdout)
    expect(plan.inventory).toEqual([expect.objectContaining({pool: 'stable', kind: 'command', count: 2, first: names})])
    expect(plan.completion.policy.stable.map((h: {name: string}) => h.name).sort()).toEqual([...live.hosts.gray, ...live.hosts.stable].map((h) => h.name).sort())
    expect(json.stdout).not.toContain(SECRET)
    // two CLI processes: 69 s at a load of 15 on two cores
  }, 180_000)

  it('a takeover after the inventory lost a host reports it, keeps it in the run, and adds no new host', async () => {
    const first = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir, env})
    await live.until('the bake of step 2', (events) => {
      const s = replay(events)
      return s.stepIndex === 1 && s.status === 'baking'
    }, 150_000)
    first.kill('SIGKILL')
    await first
    const [kept, gone] = live.hosts.stable as [(typeof live.hosts.stable)[0], (typeof live.hosts.stable)[0]]
    writeFileSync(path.join(live.dir, 'hosts.json'), JSON.stringify([kept, {name: 'newcomer', address: '127.0.0.1:9'}]))

    const driving = gray(['start', '--version', 'v2', '--yes', '--json'], {cwd: live.dir, env, timeoutMs: 150_000})
    await live.until('the takeover baking step 2', (events) => {
      const s = replay(events)
      return events.filter((e) => e.type === 'driver.attached').length === 2 && s.stepIndex === 1 && s.status === 'baking'
    }, 150_000)
    const promoted = await run(['promote', '--yes'], {cwd: live.dir, env, timeoutMs: 90_000})
    expect(promoted.exitCode, promoted.stderr).toBe(0)
    const done = await driving
    const second = {exitCode: done.exitCode, stdout: String(done.stdout), stderr: String(done.stderr)}
    expect(second.exitCode, second.stderr).toBe(0)
    expect(second.stderr).toContain(`hosts.stable's inventory`)
    expect(second.stderr).toContain(`no longer in it (${gone.name}`)
    expect(second.stderr + second.stdout).not.toContain(SECRET)
    const events = await live.journal()
    const started = events[0]!
    expect(started.data.hosts).toMatchObject({stable: live.hosts.stable})
    const changed = events.filter((e) => e.type === 'inventory.changed')
    expect(changed).toHaveLength(1)
    expect(changed[0]!.data).toMatchObject({pool: 'stable', vanished: [gone], added: [{name: 'newcomer', address: '127.0.0.1:9'}]})
    // the vanished host was not dropped: it got v2 in the completion; the newcomer was never deployed
    expect(events.some((e) => e.type === 'host.deploy.succeeded' && e.data.host === gone.address && e.data.version === 'v2')).toBe(true)
    expect(events.some((e) => e.type === 'host.deploy.started' && e.data.host === '127.0.0.1:9')).toBe(false)
    const doc = JSON.parse(second.stdout)
    expect(doc.run.state).toBe('completed')
    expect(doc.run.warnings.join('\n')).toContain(`no longer in it (${gone.name}`)
    const status = await run(['status'], {cwd: live.dir, env})
    expect(status.stdout).toContain(`warning: hosts.stable's inventory`)
    // four CLI processes and the deploys of a whole run: 76 s (and a timeout) at a load of 15 on two cores
  }, 300_000)
})
