// After a reload nginx's master starts new workers, sleeps 100 ms, then tells
// the old ones to stop accepting (ngx_master_process_cycle). Until they do, a
// new connection may still meet the old policy. Old workers rename themselves
// "worker process is shutting down" when they stop accepting, so on Linux gray
// can watch that happen; elsewhere it waits out the master's pause.
//
// Which workers are old is known best by asking before the reload: gray notes
// the workers that accept connections then, and after it waits for exactly
// those. Start times only tell generations apart when the machine is idle: on
// a loaded one the master may fork the second worker of a generation long
// after the first, which then looks old and never stops accepting.
import {readdir, readFile} from 'node:fs/promises'

/** longer than the master's 100 ms pause plus a busy old worker's turn of its event loop */
export const OLD_WORKER_GRACE_MS = 300

/** 50 ms at the usual 100 ticks per second */
const SAME_GENERATION_TICKS = 5

const ACCEPTING = 'nginx: worker process'

interface ProcStat {
  ppid: number
  startTicks: number
}

async function procStat(proc: string, pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`${proc}/${pid}/stat`, 'utf8')
    // the command name may contain spaces and parentheses; fields resume after the last ")"
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const ppid = Number(fields[1])
    const startTicks = Number(fields[19])
    return Number.isFinite(ppid) && Number.isFinite(startTicks) ? {ppid, startTicks} : null
  } catch {
    return null
  }
}

async function title(proc: string, pid: number): Promise<string | null> {
  try {
    return (await readFile(`${proc}/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim()
  } catch {
    return null
  }
}

async function childrenOf(proc: string, master: number): Promise<number[]> {
  try {
    const text = await readFile(`${proc}/${master}/task/${master}/children`, 'utf8')
    return text.split(' ').filter(Boolean).map(Number)
  } catch {
    const children: number[] = []
    for (const entry of await readdir(proc).catch(() => [])) {
      if (!/^\d+$/.test(entry)) continue
      const stat = await procStat(proc, Number(entry))
      if (stat?.ppid === master) children.push(Number(entry))
    }
    return children
  }
}

/**
 * The workers that accept connections beside `worker` (one that answered),
 * `worker` included: the generation a reload will replace. Null when this
 * system does not let gray see them.
 */
export async function acceptingWorkers(worker: number, proc = '/proc'): Promise<number[] | null> {
  const self = await procStat(proc, worker)
  if (!self || self.ppid <= 1) return null
  const accepting: number[] = []
  for (const pid of await childrenOf(proc, self.ppid)) {
    if ((await title(proc, pid)) === ACCEPTING) accepting.push(pid)
  }
  return accepting
}

/**
 * Workers other than `worker` (the one that answered with the new policy) that
 * still accept connections and are old: among `before`, the workers that
 * accepted before the reload, when gray could see them; else those that
 * started well before `worker`. Null when this system does not let gray see them.
 */
export async function oldWorkersAccepting(worker: number, before: readonly number[] | null = null, proc = '/proc'): Promise<number[] | null> {
  const self = await procStat(proc, worker)
  if (!self || self.ppid <= 1) return null
  const old: number[] = []
  for (const pid of await childrenOf(proc, self.ppid)) {
    if (pid === worker) continue
    if (before) {
      if (!before.includes(pid)) continue
    } else {
      const stat = await procStat(proc, pid)
      // without a note from before the reload: workers of one generation usually fork within a tick or two
      if (!stat || stat.startTicks > self.startTicks - SAME_GENERATION_TICKS) continue
    }
    if ((await title(proc, pid)) === ACCEPTING) old.push(pid)
  }
  return old
}
