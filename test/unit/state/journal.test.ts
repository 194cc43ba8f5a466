import {appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {GrayError} from '../../../src/core/errors.js'
import type {Actor, JournalEvent} from '../../../src/core/ports.js'
import {JournalFile, readJournal} from '../../../src/state/journal.js'

const actor: Actor = {user: 'alice', host: 'ci-7', pid: 4242, ci: true}

let tmp: string
let path: string
const opened: JournalFile[] = []

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gray-journal-'))
  path = join(tmp, 'runs', 'run-1.ndjson')
})

afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.close()
  await rm(tmp, {recursive: true, force: true})
})

async function open(options: Partial<Parameters<typeof JournalFile.open>[1]> = {}): Promise<JournalFile> {
  const journal = await JournalFile.open(path, {actor, create: true, ...options})
  opened.push(journal)
  return journal
}

function line(seq: number, type = 'step.started'): string {
  return JSON.stringify({seq, at: '2026-11-22T03:45:00.000Z', actor, type, data: {index: seq}}) + '\n'
}

async function fileLines(): Promise<JournalEvent[]> {
  const text = await readFile(path, 'utf8')
  expect(text.endsWith('\n')).toBe(true)
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as JournalEvent)
}

async function seed(content: string): Promise<void> {
  await mkdir(join(tmp, 'runs'), {recursive: true})
  await writeFile(path, content)
}

async function openError(): Promise<GrayError> {
  const error = await JournalFile.open(path, {actor, create: true}).catch((error: unknown) => error)
  expect(error).toBeInstanceOf(GrayError)
  return error as GrayError
}

describe('JournalFile', () => {
  it('creates a private file in a private directory and appends events with seq +1', async () => {
    const journal = await open({now: () => Date.parse('2026-11-22T03:45:00Z')})
    const first = await journal.append('run.started', {version: 'v2'})
    const second = await journal.append('step.started', {index: 0})

    expect(first).toEqual({seq: 1, at: '2026-11-22T03:45:00.000Z', actor, type: 'run.started', data: {version: 'v2'}})
    expect(second.seq).toBe(2)
    expect(await fileLines()).toEqual([first, second])
    expect(journal.events()).toEqual([first, second])
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(tmp, 'runs'))).mode & 0o777).toBe(0o700)
  })

  it('continues the seq of an existing journal', async () => {
    const first = await open()
    await first.append('run.started', {})
    await first.close()

    const again = await open({create: false})
    expect(again.events().map((e) => e.seq)).toEqual([1])
    expect((await again.append('run.resumed', {})).seq).toBe(2)
  })

  it('finishes queued appends on close and refuses later ones', async () => {
    const journal = await JournalFile.open(path, {actor, create: true})
    const queued = journal.append('run.started', {})
    await journal.close()
    expect((await queued).seq).toBe(1)
    await expect(journal.append('late', {})).rejects.toThrow(/is closed/)
    expect(await fileLines()).toHaveLength(1)
  })

  it('creates a run journal with its first event already on disk, never an empty file', async () => {
    const journal = await JournalFile.create(path, 'run.started', {version: 'v2'}, {actor, now: () => Date.parse('2026-11-22T03:45:00Z')})
    opened.push(journal)
    expect(await fileLines()).toEqual([{seq: 1, at: '2026-11-22T03:45:00.000Z', actor, type: 'run.started', data: {version: 'v2'}}])
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(tmp, 'runs'))).mode & 0o777).toBe(0o700)
    expect((await journal.append('step.started', {index: 0})).seq).toBe(2)
    expect(await readdir(join(tmp, 'runs'))).toEqual(['run-1.ndjson'])
  })

  it('creates nothing when the guard refuses, and never replaces an existing journal', async () => {
    const refused = JournalFile.create(path, 'run.started', {}, {actor, guard: () => { throw new GrayError('lock lost') }})
    await expect(refused).rejects.toThrow('lock lost')
    await expect(stat(path)).rejects.toMatchObject({code: 'ENOENT'})

    await seed(line(1) + line(2))
    await expect(JournalFile.create(path, 'run.started', {}, {actor})).rejects.toThrow(/journal .*run-1\.ndjson already exists/)
    expect(await readFile(path, 'utf8')).toBe(line(1) + line(2))
    expect(await readdir(join(tmp, 'runs'))).toEqual(['run-1.ndjson'])
  })

  it('refuses to open a missing journal unless asked to create it', async () => {
    await expect(JournalFile.open(path, {actor, create: false})).rejects.toThrow(/no journal at .*run-1\.ndjson/)
  })

  it('gives concurrent appends consecutive seq, each on its own line', async () => {
    const journal = await open()
    const events = await Promise.all(Array.from({length: 50}, (_, i) => journal.append('gate.measured', {i})))

    expect(events.map((e) => e.seq)).toEqual(Array.from({length: 50}, (_, i) => i + 1))
    expect((await fileLines()).map((e) => [e.seq, e.data.i])).toEqual(events.map((e) => [e.seq, e.data.i]))
  })

  it('writes nothing when the guard refuses, then goes on once it allows', async () => {
    let ours = true
    const journal = await open({
      guard: () => {
        if (!ours) throw new GrayError('lock lost')
      },
    })
    await journal.append('run.started', {})
    ours = false
    await expect(journal.append('step.started', {})).rejects.toThrow('lock lost')
    ours = true
    await journal.append('step.started', {})

    expect((await fileLines()).map((e) => [e.seq, e.type])).toEqual([
      [1, 'run.started'],
      [2, 'step.started'],
    ])
  })

  it('tells listeners about each event after it is written', async () => {
    const journal = await open()
    const seen: number[] = []
    const stop = journal.onAppend((event) => seen.push(event.seq))
    journal.onAppend(() => {
      throw new Error('a broken observer')
    })
    await journal.append('a', {})
    stop()
    await journal.append('b', {})
    expect(seen).toEqual([1])
  })

  it('repairs a torn last line: truncates it and records what was dropped', async () => {
    const torn = '{"seq":3,"at":"2026-11-22T03:45:00.000Z","act'
    await seed(line(1) + line(2) + torn)

    expect(await readJournal(path)).toMatchObject({torn: true, events: [{seq: 1}, {seq: 2}]})
    expect(await readFile(path, 'utf8')).toBe(line(1) + line(2) + torn)

    const journal = await open()
    const events = await fileLines()
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3])
    expect(events[2]).toMatchObject({type: 'journal.repaired', actor, data: {droppedBytes: torn.length, droppedText: torn}})
    expect(journal.events()).toEqual(events)
    expect((await journal.append('run.resumed', {})).seq).toBe(4)
    expect(await readJournal(path)).toMatchObject({torn: false})
  })

  it('repairs a last line that ends in a newline but is not JSON, keeping 200 characters of it', async () => {
    const garbage = 'x'.repeat(300) + '\n'
    await seed(line(1) + garbage)

    await open()
    const events = await fileLines()
    expect(events.map((e) => e.type)).toEqual(['step.started', 'journal.repaired'])
    expect(events[1]!.data).toEqual({droppedBytes: 301, droppedText: 'x'.repeat(200)})
  })

  it('drops a complete last event whose newline never reached the disk', async () => {
    await seed(line(1) + line(2).trimEnd())
    await open()
    expect((await fileLines()).map((e) => [e.seq, e.type])).toEqual([
      [1, 'step.started'],
      [2, 'journal.repaired'],
    ])
  })

  it('stops on a damaged line before the last, naming file and line, and changes nothing', async () => {
    const content = line(1) + '{"seq":2, oops\n' + line(3)
    await seed(content)

    const error = await openError()
    expect(error.exitCode).toBe(1)
    expect(error.message).toContain(path)
    expect(error.message).toMatch(/line 2 is not valid JSON; nothing was changed: move the file aside/)
    expect(await readFile(path, 'utf8')).toBe(content)
    await expect(readJournal(path)).rejects.toThrow(/line 2 is not valid JSON/)
  })

  it('stops on a broken seq, even on the last line', async () => {
    await seed(line(1) + line(2) + line(4))
    expect((await openError()).message).toMatch(/line 3 has seq 4 where 3 was expected/)

    await seed(line(2))
    expect((await openError()).message).toMatch(/line 1 has seq 2 where 1 was expected/)
  })

  it('stops on a line that is JSON but not an event', async () => {
    await seed(line(1) + '[1,2]\n' + line(2))
    expect((await openError()).message).toMatch(/line 2 is not a JSON object/)
    await seed(line(1) + '{"seq":2}\n')
    expect((await openError()).message).toMatch(/line 2 lacks one of at, actor, type, data/)
  })
})

describe('readJournal', () => {
  it('reads events without writing, and fails clearly for a missing file', async () => {
    const journal = await open()
    await journal.append('run.started', {version: 'v2'})
    await appendFile(path, '{"seq":2')
    const before = await readFile(path)

    const read = await readJournal(path)
    expect(read).toMatchObject({torn: true, events: [{seq: 1, type: 'run.started', data: {version: 'v2'}}]})
    expect(await readFile(path)).toEqual(before)
    await expect(readJournal(join(tmp, 'nope.ndjson'))).rejects.toThrow(/no journal at/)
  })
})
