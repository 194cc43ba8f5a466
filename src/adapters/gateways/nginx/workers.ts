// After a reload nginx's master starts new workers, sleeps 100 ms, then tells
// the old ones to stop accepting (ngx_master_process_cycle). Until they do, a
// new connection may still meet the old policy. Old workers rename themselves
// "worker process is shutting down" when they stop accepting, so on Linux gray
// can watch that happen; elsewhere it waits out the master's pause.
import {readdir, readFile} from 'node:fs/promises'

/** longer than the master's 100 ms pause plus a busy old worker's turn of its event loop */
export const OLD_WORKER_GRACE_MS = 300

/** 50 ms at the usual 100 ticks per second */
const SAME_GENERATION_TICKS = 5

interface ProcStat {
  ppid: number
  startTicks: number
}

async function procStat(pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8')
    // the command name may contain spaces and parentheses; fields resume after the last ")"
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(fields[1])
    const startTicks = Number(fields[19])
    return Number.isFinite(ppid) && Number.isFinite(startTicks) ? {ppid, startTicks} : null
  } catch {
    return null
  }
}

async function childrenOf(master: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${master}/task/${master}/children`, 'utf8')
    return text.split(' ').filter(Boolean).map(Number)
  } catch {
    const children: number[] = []
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const stat = await procStat(Number(entry))
      if (stat?.ppid === master) children.push(Number(entry))
    }
    return children
  }
}

/**
 * Workers older than `worker` (the one that answered with the new policy) that
 * still accept connections; null when this system does not let gray see them.
 */
export async function oldWorkersAccepting(worker: number): Promise<number[] | null> {
  const self = await procStat(worker)
  if (!self || self.ppid <= 1) return null
  const old: number[] = []
  for (const pid of await childrenOf(self.ppid)) {
    if (pid === worker) continue
    const stat = await procStat(pid)
    // workers of one generation fork within a tick or two; the previous one is at least the master's 100 ms older
    if (!stat || stat.startTicks > self.startTicks - SAME_GENERATION_TICKS) continue
    let title: string
    try {
      title = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim()
    } catch {
      continue
    }
    if (title === 'nginx: worker process') old.push(pid)
  }
  return old
}
