// One crash case on PostgreSQL with `gray agent` as the driver: agent A (with
// GRAY_FAULT) is handed the run by `gray start --detach` and SIGKILLs itself
// at a journal point; a `promote` is left in the inbox while nobody drives;
// once A's lease lapsed, agent B, started from another working directory,
// takes the run over and drives it to its end. B is then stopped (SIGTERM,
// exit 0) and no agent of the case may be left running. The end state is
// judged by the assertions of the CLI's cases (./pg-kill.ts).
import {execa, type ResultPromise} from 'execa'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {expect, onTestFinished} from 'vitest'

import {isTerminal} from '../../src/core/run/state.js'
import {BIN} from '../support/cli.js'
import type {PostgresServer} from '../support/postgres.js'
import {freePort} from '../support/prometheus.js'
import {afterTheKill, expectTakenOver} from './pg-kill.js'
import {pgCase, TTL_MS, type DriverCommand, type PgCase} from './pg-world.js'
import {BAD, type World} from './world.js'

/** hands the run to a live agent and returns once one drives it (exit 0, the agent named in --json) */
export const detachedStart: DriverCommand = {
  name: 'gray start --detach',
  argv: (version, first) => ['start', '--version', version, ...(first ? ['--previous-version', 'v1'] : []), '--detach', '--yes', '--json'],
}

export interface AgentProcess {
  child: ResultPromise
  pid: number
  /** /healthz and /metrics */
  port: number
  log(): string
}

/** every agent a case started that may still run: killed whatever happens (killAgents) */
const running = new Set<AgentProcess>()

/** SIGKILLs every agent still running and waits until each is gone */
export async function killAgents(): Promise<void> {
  const left = [...running]
  running.clear()
  for (const a of left) a.child.kill('SIGKILL')
  await Promise.all(left.map((a) => a.child.catch(() => undefined)))
}

/** `gray agent -c <dir>/gray.yaml` with the case's database and lease TTL; resolves once it drives the service */
export async function startAgent(pc: PgCase, dir: string, env: Record<string, string> = {}): Promise<AgentProcess> {
  const port = await freePort()
  let out = ''
  const child = execa(process.execPath, [BIN, 'agent', '-c', path.join(dir, 'gray.yaml'), '--lease-ttl', `${TTL_MS / 1000}s`, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env: {CI: '1', NO_COLOR: '1', ...pc.env, ...env},
    reject: false,
    stdin: 'ignore',
  })
  const agent: AgentProcess = {child, pid: child.pid as number, port, log: () => out}
  running.add(agent)
  void child.finally(() => running.delete(agent)).catch(() => undefined)
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()))
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()))
  // the line it writes once it announced itself and watches the service
  const deadline = Date.now() + 60_000
  while (!/ drives shop;/.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) throw new Error(`the agent did not start: ${out}`)
    await delay(100)
  }
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {ok: boolean}
  expect(health.ok, out).toBe(true)
  return agent
}

/** The pids of live `gray agent` processes started from one of `dirs` (from /proc: no zombie, no other case's). */
export function agentPids(dirs: readonly string[]): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'))?.[1]
      if (state !== 'Z' && argv.includes('agent') && argv.some((a) => dirs.some((d) => a.startsWith(d)))) pids.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** waits until the agent exits, at most `timeoutMs` (else throws with its log) */
export async function exited(a: AgentProcess, what: string, timeoutMs: number) {
  const timer = delay(timeoutMs).then(() => null)
  const end = await Promise.race([a.child, timer])
  if (!end) throw new Error(`${what}: agent ${a.pid} still runs after ${timeoutMs / 1000} s; its log:\n${a.log().slice(-4000)}`)
  return end
}

export interface AgentKillCase {
  point: string
  /** v2 completes, BAD is rolled back by the gates */
  version: string
  /** the run's steps, when not the world's three bakes (./world.ts) */
  steps?: Array<Record<string, unknown>>
}

export async function agentKillAndTakeOver(world: World, server: PostgresServer, c: AgentKillCase): Promise<void> {
  await world.reset()
  const pc = await pgCase(world, server, c.steps ? {steps: c.steps} : {})
  onTestFinished(killAgents)
  const errorsBefore = world.load.stats().errors

  const a = await startAgent(pc, pc.dirs[0], {GRAY_FAULT: c.point})
  const started = await pc.drive(detachedStart, c.version, {first: true})
  expect(started.exitCode, `${c.point}: ${String(started.stderr)}\nagent A: ${a.log().slice(-3000)}`).toBe(0)
  // the run was handed to A: start returned once A attached, and never drove it itself
  expect(JSON.parse(String(started.stdout))).toMatchObject({driver: {kind: 'agent', pid: a.pid}})
  const killed = await exited(a, `killed at ${c.point}`, 120_000)
  expect(killed.signal, `agent A was not killed at ${c.point}: ${a.log().slice(-3000)}`).toBe('SIGKILL')
  const dead = await afterTheKill(pc, c.point)

  // a database lease cannot tell a dead holder from a live one before its TTL
  await pc.lapsed()
  const b = await startAgent(pc, pc.dirs[1])
  const bad = c.version === BAD
  const end = await pc.until(`the run to end after ${c.point}`, (s) => isTerminal(s), 150_000).catch((error: Error) => {
    throw new Error(`${error.message}\nagent B: ${b.log().slice(-3000)}`)
  })
  expect(end.status, b.log().slice(-3000)).toBe(bad ? 'rolled_back' : 'completed')

  // B stops cleanly, and no agent of the case is left running
  b.child.kill('SIGTERM')
  const stopped = await exited(b, 'stopping B', 60_000)
  expect(stopped.exitCode, b.log()).toBe(0)
  // B took the lease over from A, whose lease lapsed (not from a CLI, nor a free one)
  expect(b.log()).toMatch(new RegExp(`took the run .* over from agent \\S+ \\(pid ${a.pid}\\) whose lease lapsed`))
  expect(agentPids(pc.dirs)).toEqual([])

  await expectTakenOver(world, pc, {point: c.point, version: c.version, errorsBefore, ...dead})
  // the first driver was A, the one that took over B
  const attached = (await pc.events()).filter((e) => e.type === 'driver.attached')
  expect(attached[0]!.actor.pid).toBe(a.pid)
  expect(attached.at(-1)!.actor.pid).toBe(b.pid)
}
