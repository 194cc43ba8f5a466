// State directory trust (class 5 of issue 11) and the inbox (classes 2 and 6):
// a state dir others can write is made private and said so; journal, lock and
// request files are never followed through a symlink; a forged request is
// rejected, not journaled or printed; each request is taken exactly once.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {ConfigError} from '../../../src/core/errors.js'
import type {ControlRequest} from '../../../src/core/ports.js'
import {FileInbox, inboxDir, postRequest} from '../../../src/state/inbox.js'
import {JournalFile, readJournal} from '../../../src/state/journal.js'
import {acquireLock, readHolder} from '../../../src/state/lock.js'
import {ServiceStore} from '../../../src/state/store.js'
import {testActor} from '../../support/fakes.js'

const fresh = () => mkdtempSync(path.join(tmpdir(), 'gray-trust-'))

describe('a state directory others can write is made private, and gray says so', () => {
  it.each(['.gray', '.gray/shop', '.gray/shop/runs', '.gray/shop/inbox'])('%s at 0777', async (sub) => {
    const root = fresh()
    const store = new ServiceStore(path.join(root, '.gray'), 'shop')
    await store.ensureDirs()
    chmodSync(path.join(root, sub), 0o777)
    const said: string[] = []
    await store.trust((l) => said.push(l))
    expect(statSync(path.join(root, sub)).mode & 0o777).toBe(0o700)
    expect(said.join('\n')).toMatch(new RegExp(`state directory .*${sub.replace(/\./g, '\\.')} was writable by others \\(0777\\); made it private \\(0700\\)`))
  })

  it('a private state directory is left alone and nothing is said', async () => {
    const store = new ServiceStore(path.join(fresh(), '.gray'), 'shop')
    await store.ensureDirs()
    const said: string[] = []
    await store.trust((l) => said.push(l))
    expect(said).toEqual([])
  })
})

describe('journal, lock and request files are never followed through a symlink', () => {
  async function journalAt(): Promise<{file: string; target: string}> {
    const root = fresh()
    const file = path.join(root, 'runs', 'r1.ndjson')
    const journal = await JournalFile.create(file, 'run.started', {version: 'v2'}, {actor: testActor})
    await journal.close()
    const target = path.join(root, 'victim.ndjson')
    writeFileSync(target, readFileSync(file))
    execFileSync('rm', [file])
    symlinkSync(target, file)
    return {file, target}
  }

  it('a journal replaced by a symlink is refused when a driver opens it (gray rollback), and its target is untouched', async () => {
    const {file, target} = await journalAt()
    const before = readFileSync(target, 'utf8')
    await expect(JournalFile.open(file, {actor: testActor, create: false})).rejects.toThrow(/is a symbolic link; gray never reads or writes a journal through one/)
    expect(readFileSync(target, 'utf8')).toBe(before)
  })

  it('a journal replaced by a symlink is refused when status reads it', async () => {
    const {file} = await journalAt()
    await expect(readJournal(file)).rejects.toThrow(/is a symbolic link/)
  })

  it('a journal that is a FIFO is refused, not waited on', async () => {
    const root = fresh()
    const file = path.join(root, 'r1.ndjson')
    execFileSync('mkfifo', [file])
    await expect(readJournal(file)).rejects.toThrow(/is not a regular file/)
  })

  it("the lock's driver file replaced by a symlink: the lock is refused and the target never created", async () => {
    const root = fresh()
    const target = path.join(root, 'created-by-gray')
    symlinkSync(target, path.join(root, 'driver'))
    await expect(acquireLock(root, {actor: testActor, service: 'shop'})).rejects.toThrow()
    expect(existsSync(target)).toBe(false)
  })

  it("a holder file replaced by a symlink is not believed", async () => {
    const root = fresh()
    const target = path.join(root, 'forged.json')
    writeFileSync(target, JSON.stringify({pid: process.pid, epoch: 9, host: 'h', user: 'u', at: new Date().toISOString()}))
    mkdirSync(path.join(root, 'driver.lock'))
    symlinkSync(target, path.join(root, 'holder.json'))
    expect(await readHolder(root)).toBeNull()
  })

  it('a request file that is a symlink is never read or taken', async () => {
    const root = fresh()
    mkdirSync(inboxDir(root), {recursive: true})
    const target = path.join(root, 'secret.json')
    writeFileSync(target, JSON.stringify(request()))
    symlinkSync(target, path.join(inboxDir(root), '20261203T000000000Z-abcd.json'))
    expect(await new FileInbox(root).peek()).toEqual([])
    expect(existsSync(target)).toBe(true)
  })
})

function request(extra: Record<string, unknown> = {}): ControlRequest {
  return {id: 'r1', kind: 'pause', reason: 'on-call says so', actor: {user: 'oncall', host: 'box-1.example', pid: 4242, ci: false}, at: new Date().toISOString(), ...extra} as ControlRequest
}

describe('forged inbox requests are rejected, never journaled or printed', () => {
  const forged: Array<[string, Record<string, unknown>]> = [
    ['an actor user holding an escape sequence', {actor: {user: 'root\x1b[2J', host: 'box', pid: 1, ci: false}}],
    ['an actor user that is a sentence', {actor: {user: 'the gates (automatic)', host: 'box', pid: 1, ci: false}}],
    ['an actor host holding a bidi override', {actor: {user: 'oncall', host: 'box\u202Eevil', pid: 1, ci: false}}],
    ['an actor with an extra field', {actor: {user: 'oncall', host: 'box', pid: 1, ci: false, admin: true}}],
    ['an actor pid that is not a process id', {actor: {user: 'oncall', host: 'box', pid: -1, ci: false}}],
    ['a reason with an OSC 52 clipboard write', {reason: 'ok\x1b]52;c;ZXZpbA==\x07'}],
    ['a reason with a C1 control', {reason: 'ok\u009b2J'}],
    ['a reason spanning lines', {reason: 'ok\nstatus: completed'}],
    ['a reason of 10 000 characters', {reason: 'x'.repeat(10_000)}],
    ['a kind gray does not know', {kind: 'delete'}],
    ['an id that could climb out of the inbox', {id: '../../x'}],
    ['a time far in the future', {at: '2099-01-01T00:00:00.000Z'}],
    ['an unknown field', {command: 'rm -rf /'}],
  ]

  it.each(forged)('%s', async (_what, extra) => {
    const root = fresh()
    mkdirSync(inboxDir(root), {recursive: true})
    const name = '20261203T000000000Z-forged.json'
    writeFileSync(path.join(inboxDir(root), name), JSON.stringify(request(extra)))
    expect(await new FileInbox(root).peek()).toEqual([])
    expect(readdirSync(path.join(inboxDir(root), 'rejected'))).toEqual([name])
    expect(readdirSync(inboxDir(root)).filter((n) => n.endsWith('.json'))).toEqual([])
  })

  it('a request gray wrote is taken as it was posted', async () => {
    const root = fresh()
    const posted = await postRequest(root, {kind: 'promote', reason: 'looks good', actor: testActor})
    expect(await new FileInbox(root).peek()).toEqual([posted])
  })

  it('posting a reason with escapes is refused with a usage error', async () => {
    await expect(postRequest(fresh(), {kind: 'pause', reason: 'x\x1b[2J', actor: testActor})).rejects.toBeInstanceOf(ConfigError)
  })
})

describe('concurrent reads and acks of one inbox', () => {
  it('by one process (a watch event and a poll at once): each read sees every waiting request, acks remove each once', async () => {
    const root = fresh()
    const posted = await Promise.all((['promote', 'rollback', 'pause'] as const).map((kind) => postRequest(root, {kind, actor: testActor})))
    const inbox = new FileInbox(root)
    const reads = await Promise.all([inbox.peek(), inbox.peek(), inbox.peek()])
    for (const read of reads) expect(read.map((r) => r.id).sort()).toEqual(posted.map((r) => r.id).sort())
    await Promise.all([inbox.ack(posted), inbox.ack(posted), inbox.ack(posted.slice(1))])
    expect(await inbox.peek()).toEqual([])
  })

  it('by two inboxes on the same directory (two processes): a read during acks sees each request whole or not at all', async () => {
    const root = fresh()
    const posted = await Promise.all(Array.from({length: 20}, () => postRequest(root, {kind: 'pause', actor: testActor})))
    const [a, b] = [new FileInbox(root), new FileInbox(root)]
    const [read] = await Promise.all([b.peek(), a.ack(posted.slice(0, 10))])
    const ids = new Set(posted.map((r) => r.id))
    for (const r of read) expect(ids.has(r.id)).toBe(true)
    expect(readdirSync(path.join(inboxDir(root))).filter((n) => n === 'rejected')).toEqual([])
    expect((await b.peek()).map((r) => r.id).sort()).toEqual(posted.slice(10).map((r) => r.id).sort())
  })
})
