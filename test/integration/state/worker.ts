// A second process using a state backend, for the conformance suite: it reads
// one JSON command per stdin line and answers one JSON line on stdout.
// Run as: node --import tsx test/integration/state/worker.ts '<state config JSON>'
import {hostname} from 'node:os'
import {createInterface} from 'node:readline'

import {openBackend, type AgentAnnouncement, type Lease, type LeaseHolder, type StateConfig} from '../../../src/state/backend.js'

const state = JSON.parse(process.argv[2] ?? '{}') as StateConfig
const backend = await openBackend(state)
const holder: LeaseHolder = {user: 'worker', host: hostname(), pid: process.pid, ci: false, kind: 'agent'}
let lease: Lease | null = null
let announced: AgentAnnouncement | null = null

type Command =
  | {op: 'acquire'; service: string; ttlMs: number; waitMs?: number}
  | {op: 'create'; service: string; runId: string}
  | {op: 'append'; service: string; runId: string; type?: string}
  | {op: 'renew'}
  | {op: 'post'; service: string; kind: 'pause' | 'resume' | 'promote' | 'rollback'}
  | {op: 'announce'; services: string[]; ttlMs: number}
  | {op: 'unannounce'}
  | {op: 'exit'}

const held = (): Lease => {
  if (!lease) throw new Error('no lease taken')
  return lease
}

async function execute(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'acquire':
      lease = await backend.acquireLease(command.service, holder, {ttlMs: command.ttlMs, waitMs: command.waitMs ?? 0})
      return {epoch: lease.epoch}
    case 'create':
      return backend.createRun(command.service, command.runId, held(), {type: 'run.started', data: {by: 'worker'}})
    case 'append':
      return (await backend.append(command.service, command.runId, held(), [{type: command.type ?? 'worker.step', data: {pid: process.pid}}]))[0]
    case 'renew':
      await held().renew()
      return {epoch: held().epoch}
    case 'post':
      return backend.postRequest(command.service, {kind: command.kind, actor: {user: 'worker', host: hostname(), pid: process.pid, ci: false}})
    case 'announce':
      announced = await backend.announceAgent(holder, command.services, command.ttlMs)
      return {id: announced.id}
    case 'unannounce':
      await announced?.stop()
      return {}
    case 'exit':
      await lease?.release().catch(() => undefined)
      await backend.close()
      process.exit(0)
  }
}

const lines = createInterface({input: process.stdin})
process.stdout.write(JSON.stringify({ready: true, pid: process.pid}) + '\n')
for await (const line of lines) {
  if (!line.trim()) continue
  try {
    const result = await execute(JSON.parse(line) as Command)
    process.stdout.write(JSON.stringify({ok: true, result}) + '\n')
  } catch (error) {
    const e = error as Error & {exitCode?: number}
    process.stdout.write(JSON.stringify({ok: false, name: e.name, message: e.message, exitCode: e.exitCode ?? null}) + '\n')
  }
}
