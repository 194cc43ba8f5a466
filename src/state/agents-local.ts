// Agent presence for the `local` backend: one file per running `gray agent` in
// `<stateDir>/.agents/` (a name no service can have), rewritten every TTL/3 as
// its heartbeat. An agent is live while its file is younger than its TTL and,
// on this machine, while its pid runs; a stopped agent removes its file.
import {randomUUID} from 'node:crypto'
import {readdir, stat, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'

import type {AgentAnnouncement, AgentPresence, LeaseHolder} from './backend.js'
import {lazyDebug} from './debug-log.js'
import {ensurePrivateDir, readPrivateFile, writeAtomic} from './files.js'

const debug = lazyDebug('gray:state:agents')
const MAX_FILE = 64 * 1024

interface AgentFile {
  id: string
  holder: LeaseHolder
  services: string[]
  ttlMs: number
  since: string
  heartbeatAt: string
}

const agentsDir = (stateDir: string) => join(stateDir, '.agents')

export async function announceLocalAgent(stateDir: string, holder: LeaseHolder, services: string[], ttlMs: number): Promise<AgentAnnouncement> {
  const dir = agentsDir(stateDir)
  await ensurePrivateDir(dir)
  const id = randomUUID()
  const file = join(dir, `${id}.json`)
  const since = new Date().toISOString()
  let stopped = false
  const beat = async () => {
    if (stopped) return
    const body: AgentFile = {id, holder, services: [...services], ttlMs, since, heartbeatAt: new Date().toISOString()}
    await writeAtomic(file, JSON.stringify(body))
  }
  await beat()
  const timer = setInterval(() => void beat().catch((error) => debug('agent heartbeat failed: %O', error)), Math.max(100, Math.floor(ttlMs / 3)))
  timer.unref()
  return {
    id,
    beat,
    async stop() {
      stopped = true
      clearInterval(timer)
      await unlink(file).catch(() => undefined)
    },
  }
}

export async function liveLocalAgents(stateDir: string, service: string): Promise<AgentPresence[]> {
  const dir = agentsDir(stateDir)
  const names = await readdir(dir).catch(() => [] as string[])
  const live: AgentPresence[] = []
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue
    const path = join(dir, name)
    try {
      const [info, raw] = await Promise.all([stat(path), readPrivateFile(path, MAX_FILE)])
      const body = JSON.parse(raw.toString('utf8')) as AgentFile
      if (!Array.isArray(body.services) || !body.services.includes(service)) continue
      if (Date.now() - info.mtimeMs > body.ttlMs) continue
      if (body.holder.host === hostname() && !pidRuns(body.holder.pid)) continue
      live.push({id: body.id, holder: body.holder, services: body.services, since: body.since, heartbeatAt: new Date(info.mtimeMs).toISOString()})
    } catch (error) {
      // a file being replaced or removed right now, or not an agent's: not a live agent
      debug('agent file %s unreadable: %O', name, error)
    }
  }
  return live.sort((a, b) => a.since.localeCompare(b.since))
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
