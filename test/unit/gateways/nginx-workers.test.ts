// Which nginx workers are old after a reload, read from a /proc tree written
// in a temp dir: a master, the generation before the reload, the one after.
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {acceptingWorkers, oldWorkersAccepting} from '../../../src/adapters/gateways/nginx/workers.js'

const MASTER = 100
let proc: string

async function writeProcess(pid: number, ppid: number, startTicks: number, title: string): Promise<void> {
  await mkdir(join(proc, String(pid)), {recursive: true})
  // /proc/<pid>/stat: pid (comm) state ppid ... with starttime as field 22
  const fields = ['S', String(ppid), ...Array.from({length: 17}, () => '0'), String(startTicks), '0']
  await writeFile(join(proc, String(pid), 'stat'), `${pid} (nginx) ${fields.join(' ')}\n`)
  await writeFile(join(proc, String(pid), 'cmdline'), `${title}\0`)
}

async function children(pids: number[]): Promise<void> {
  await mkdir(join(proc, String(MASTER), 'task', String(MASTER)), {recursive: true})
  await writeFile(join(proc, String(MASTER), 'task', String(MASTER), 'children'), `${pids.join(' ')} `)
}

beforeEach(async () => {
  proc = await mkdtemp(join(tmpdir(), 'gray-proc-'))
  await writeProcess(MASTER, 1, 10, 'nginx: master process nginx -c nginx.conf')
})
afterEach(() => rm(proc, {recursive: true, force: true}))

describe('nginx workers after a reload', () => {
  test('the workers noted before the reload are old until they say they are shutting down', async () => {
    await writeProcess(201, MASTER, 1000, 'nginx: worker process')
    await writeProcess(202, MASTER, 1001, 'nginx: worker process')
    await children([201, 202])
    const before = await acceptingWorkers(201, proc)
    expect(before).toEqual([201, 202])

    await writeProcess(301, MASTER, 2000, 'nginx: worker process')
    await writeProcess(302, MASTER, 2001, 'nginx: worker process')
    await children([201, 202, 301, 302])
    expect(await oldWorkersAccepting(302, before, proc)).toEqual([201, 202])

    await writeProcess(201, MASTER, 1000, 'nginx: worker process is shutting down')
    expect(await oldWorkersAccepting(302, before, proc)).toEqual([202])
    await writeProcess(202, MASTER, 1001, 'nginx: worker process is shutting down')
    expect(await oldWorkersAccepting(302, before, proc)).toEqual([])
  })

  test('a worker of the new generation forked long after its sibling is not old (a loaded machine)', async () => {
    await writeProcess(201, MASTER, 1000, 'nginx: worker process is shutting down')
    // the master forked 302 a second after 301: both run the new policy
    await writeProcess(301, MASTER, 2000, 'nginx: worker process')
    await writeProcess(302, MASTER, 2100, 'nginx: worker process')
    await children([201, 301, 302])
    expect(await oldWorkersAccepting(302, [201], proc)).toEqual([])
    // the guess from start times alone, for when nothing answered before the reload, takes 301 for old
    expect(await oldWorkersAccepting(302, null, proc)).toEqual([301])
  })

  test('without the children file, the workers are found by their parent', async () => {
    await writeProcess(201, MASTER, 1000, 'nginx: worker process')
    await writeProcess(301, MASTER, 2000, 'nginx: worker process')
    await writeProcess(999, 1, 5, 'nginx: worker process')
    expect((await acceptingWorkers(301, proc))?.sort()).toEqual([201, 301])
    expect(await oldWorkersAccepting(301, [201], proc)).toEqual([201])
  })

  test('a worker gray cannot see, or one without a master, gives null', async () => {
    expect(await acceptingWorkers(404, proc)).toBeNull()
    expect(await oldWorkersAccepting(404, [201], proc)).toBeNull()
    await writeProcess(500, 1, 5, 'nginx: worker process')
    expect(await oldWorkersAccepting(500, null, proc)).toBeNull()
  })
})
