// hosts.stable / hosts.gray from an inventory: the schema's forms, what a
// command or file must yield, failures (exit codes, timeouts, bad output), and
// the takeover that reads it again and reports a vanished host.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import {hostsFromInventory} from '../../../src/core/config/inventory.js'
import type {GrayConfig, Host} from '../../../src/core/config/model.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'
import {ConfigError} from '../../../src/core/errors.js'
import {clearRegisteredSecrets} from '../../../src/core/redact.js'
import {runStarted} from '../../../src/core/run/begin.js'
import {inventoryDiff} from '../../../src/core/run/inventory.js'
import {replay} from '../../../src/core/run/state.js'
import {inventoryAtTakeover, resolveInventory} from '../../../src/services/inventory.js'
import {FakeClock, MemoryJournal} from '../../support/fakes.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gray-inventory-'))
})
afterEach(() => {
  rmSync(dir, {recursive: true, force: true})
  clearRegisteredSecrets()
})

/** a tiny inventory program: prints `file`'s text, or as `mode` says */
function script(): string {
  const file = path.join(dir, 'inventory.mjs')
  writeFileSync(
    file,
    `import {readFileSync} from 'node:fs'
const [mode, arg] = process.argv.slice(2)
if (mode === 'print') process.stdout.write(readFileSync(arg, 'utf8'))
if (mode === 'fail') { process.stderr.write('consul: connection refused ' + (arg ?? '') + '\\n'); process.exit(3) }
if (mode === 'hang') setTimeout(() => {}, 60_000)
if (mode === 'text') console.log('not json')
if (mode === 'flood') process.stdout.write('['.repeat(9 * 1024 * 1024))
`,
  )
  return file
}

function hostsFile(name: string, hosts: unknown): string {
  const file = path.join(dir, name)
  writeFileSync(file, typeof hosts === 'string' ? hosts : JSON.stringify(hosts))
  return file
}

function config(stable: unknown, env: Record<string, string> = {}): GrayConfig {
  return configFromObject(
    {service: 'shop', hosts: {stable, gray: ['127.0.0.1:9001']}, deploy: {command: ['true']}, gateway: {type: 'sandbox'}},
    path.join(dir, 'gray.yaml'),
    env,
  )
}

const node = process.execPath
const fleet = (n: number): Host[] => Array.from({length: n}, (_, i) => ({name: `web-${i + 1}`, address: `10.0.${i >> 8}.${i & 255}:8080`}))

describe('gray.yaml: hosts from an inventory', () => {
  it('parses {command} and {file} into an empty pool and a source; a list stays as it was', () => {
    const c = config({command: ['consul', 'catalog', 'nodes'], timeout: '5s'})
    expect(c.hosts.stable).toEqual([])
    expect(c.hosts.gray).toEqual([{name: '127.0.0.1:9001', address: '127.0.0.1:9001'}])
    expect(c.inventory).toEqual({stable: {kind: 'command', command: ['consul', 'catalog', 'nodes'], timeoutMs: 5_000}})
    expect(config({command: ['x']}).inventory?.stable).toMatchObject({timeoutMs: 30_000})
    expect(config({file: 'hosts.json'}).inventory).toEqual({stable: {kind: 'file', file: 'hosts.json'}})
    expect(config(['127.0.0.1:9002']).inventory).toBeUndefined()
  })

  it('refuses both, neither, a timeout on a file and a shell string, each in one sentence', () => {
    const problems = (stable: unknown) => {
      try {
        config(stable)
      } catch (error) {
        return (error as InvalidConfigError).problems
      }
      return []
    }
    expect(problems({command: ['x'], file: 'h.json'})).toEqual(['hosts.stable: must be {command: [argv…]} or {file: path}, not both, got both'])
    expect(problems({})).toEqual(['hosts.stable: must be {command: [argv…]} or {file: path}, not both, got neither'])
    expect(problems({file: 'h.json', timeout: '5s'})[0]).toMatch(/^hosts\.stable\.timeout: is read only with command/)
    expect(problems({command: 'consul catalog nodes'})[0]).toMatch(/^hosts\.stable\.command: /)
    expect(problems(42)[0]).toMatch(/^hosts\.stable: must be a list of hosts, \{command: \[argv…\]\} or \{file: path\}/)
  })

  it('does not count a step\'s hosts against a stable pool not read yet', () => {
    const c = configFromObject(
      {service: 'shop', hosts: {stable: {file: 'h.json'}, gray: ['127.0.0.1:9001']}, deploy: {command: ['true']}, gateway: {type: 'sandbox'}, steps: [{weight: 10, hosts: 5}, {weight: 100}]},
      path.join(dir, 'gray.yaml'),
      {},
    )
    expect(c.steps[0]?.hosts).toEqual({count: 5})
  })
})

describe('what an inventory must yield', () => {
  const source = {kind: 'command' as const, command: ['x'], timeoutMs: 1000}

  it('takes the shapes the list form takes', () => {
    expect(hostsFromInventory('stable', source, ['10.0.0.1:80', {name: 'b', address: '10.0.0.2:80'}])).toEqual([
      {name: '10.0.0.1:80', address: '10.0.0.1:80'},
      {name: 'b', address: '10.0.0.2:80'},
    ])
  })

  it('names the pool and the index of a bad host, and where the hosts came from', () => {
    let error: InvalidConfigError | undefined
    try {
      hostsFromInventory('stable', source, ['10.0.0.1:80', 42, {name: 'c'}])
    } catch (e) {
      error = e as InvalidConfigError
    }
    expect(error).toBeInstanceOf(InvalidConfigError)
    expect(error?.problems[0]).toBe('hosts.stable[1]: must be a host written host:port, like 10.0.0.21:8080, or {name, address}, got 42')
    expect(error?.problems[1]).toMatch(/^hosts\.stable\[2\]\.address: must be set/)
    expect(error?.exitCode).toBe(2)
    expect(error?.fix).toContain('command `x`')
  })

  it('refuses an empty list and something that is no list', () => {
    expect(() => hostsFromInventory('gray', source, [])).toThrow('hosts.gray: must list at least one host')
    expect(() => hostsFromInventory('gray', source, {hosts: []})).toThrow(/^hosts\.gray: must be a list of hosts/)
  })
})

describe('resolveInventory', () => {
  it('runs the command (an argv, in gray.yaml\'s directory) and fills the pool with what it printed', async () => {
    const list = hostsFile('hosts.json', fleet(3))
    const {config: c, read} = await resolveInventory(config({command: [node, script(), 'print', list]}))
    expect(c.hosts.stable).toEqual(fleet(3))
    expect(c.inventory).toBeUndefined()
    expect(read).toEqual([{pool: 'stable', kind: 'command', from: `${node} ${path.join(dir, 'inventory.mjs')} print ${list}`, count: 3, first: ['web-1', 'web-2', 'web-3']}])
  })

  it('reads a JSON or a YAML file, relative to gray.yaml', async () => {
    hostsFile('hosts.json', ['127.0.0.1:7001'])
    hostsFile('hosts.yaml', '- 127.0.0.1:7002\n- {name: b, address: "127.0.0.1:7003"}\n')
    expect((await resolveInventory(config({file: 'hosts.json'}))).config.hosts.stable).toEqual([{name: '127.0.0.1:7001', address: '127.0.0.1:7001'}])
    expect((await resolveInventory(config({file: 'hosts.yaml'}))).config.hosts.stable.map((h) => h.name)).toEqual(['127.0.0.1:7002', 'b'])
  })

  it('a failing command is one clear config error with its stderr, and never shows a ${VAR} of its argv', async () => {
    const c = config({command: [node, script(), 'fail', '${INVENTORY_TOKEN}']}, {INVENTORY_TOKEN: 'tok-3141592653'})
    const error = (await resolveInventory(c).catch((e: unknown) => e)) as ConfigError
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.exitCode).toBe(2)
    expect(error.message).toMatch(/^hosts\.stable: the inventory command `.+ fail \*\*\*` failed with exit code 3: consul: connection refused \*\*\*$/)
    expect(`${error.message} ${error.hint}`).not.toContain('tok-3141592653')
  })

  it('stops a command at its timeout, and says so', async () => {
    const c = config({command: [node, script(), 'hang'], timeout: '300ms'})
    await expect(resolveInventory(c)).rejects.toThrow(/did not finish within 300ms/)
  })

  it('refuses output that is not JSON, and output past the limit', async () => {
    await expect(resolveInventory(config({command: [node, script(), 'text']}))).rejects.toThrow(/must print a JSON list of hosts, got text that is not JSON/)
    await expect(resolveInventory(config({command: [node, script(), 'flood']}))).rejects.toThrow(/printed more than 8 MiB/)
  })

  it('refuses a command not found and a missing file', async () => {
    await expect(resolveInventory(config({command: ['/nonexistent/consul']}))).rejects.toThrow(/could not start: command not found: \/nonexistent\/consul/)
    await expect(resolveInventory(config({file: 'nope.json'}))).rejects.toThrow(/the inventory file nope\.json must be readable, got no such file/)
  })

  it('checks the hosts it read as gray.yaml\'s own list: a host listed twice, a step asking more stable hosts than there are', async () => {
    hostsFile('dup.json', ['127.0.0.1:7001', '127.0.0.1:7001'])
    await expect(resolveInventory(config({file: 'dup.json'}))).rejects.toThrow('hosts.stable[1]: must be listed once (it is also hosts.stable[0]), got "127.0.0.1:7001"')
    hostsFile('two.json', ['127.0.0.1:7001', '127.0.0.1:7002'])
    const c = configFromObject(
      {service: 'shop', hosts: {stable: {file: 'two.json'}, gray: ['127.0.0.1:9001']}, deploy: {command: ['true']}, gateway: {type: 'sandbox'}, steps: [{weight: 10, hosts: 5}, {weight: 100}]},
      path.join(dir, 'gray.yaml'),
      {},
    )
    await expect(resolveInventory(c)).rejects.toThrow(/steps\[0\]\.hosts: must be at most the 2 stable hosts/)
  })

  it('runs no command when asked not to (validate), with stand-ins that no host check mistakes for duplicates', async () => {
    const {config: c, read} = await resolveInventory(config({command: ['/nonexistent/consul']}), {commands: false})
    expect(read[0]).toMatchObject({count: null, first: []})
    expect(c.hosts.stable.length).toBeGreaterThanOrEqual(100)
  })
})

describe('a takeover reads the inventory again', () => {
  async function started(frozen: Host[]) {
    const journal = new MemoryJournal(new FakeClock())
    const c = config({file: 'hosts.json'})
    await journal.append('run.started', runStarted({...c, hosts: {stable: frozen, gray: c.hosts.gray}}, 'r1', 'v2', 'v1') as unknown as Record<string, unknown>)
    return {journal, c}
  }

  it('drives the frozen hosts and journals the vanished and the new ones', async () => {
    const frozen = fleet(4)
    const {journal, c} = await started(frozen)
    hostsFile('hosts.json', [...frozen.slice(0, 1), ...frozen.slice(2), {name: 'web-99', address: '10.9.9.9:8080'}])
    const notes: Array<[string, boolean | undefined]> = []
    const driven = await inventoryAtTakeover(c, journal, (line, loud) => notes.push([line, loud]))
    expect(driven.hosts.stable).toEqual(frozen)
    expect(driven.inventory).toBeUndefined()
    const [changed] = journal.ofType('inventory.changed')
    expect(changed?.data).toEqual({pool: 'stable', from: 'hosts.json', vanished: [frozen[1]], added: [{name: 'web-99', address: '10.9.9.9:8080'}]})
    expect(notes).toHaveLength(1)
    expect(notes[0]?.[1]).toBe(true)
    expect(notes[0]?.[0]).toContain('1 host of this run no longer in it (web-2 (10.0.0.1:8080)): still in the run')
    // the run keeps every frozen host, and says why in its warnings (status, the end of the run)
    const state = replay(journal.events())
    expect(state.hosts.filter((h) => h.pool === 'stable').map((h) => h.name)).toEqual(frozen.map((h) => h.name))
    expect(state.warnings[0]).toMatch(/^hosts\.stable's inventory \(hosts\.json\) changed since the run started: 1 host of this run no longer in it .*; 1 host new in it \(web-99 \(10\.9\.9\.9:8080\)\): not added/)
  })

  it('journals nothing when the inventory lists the same hosts', async () => {
    const {journal, c} = await started(fleet(3))
    hostsFile('hosts.json', [...fleet(3)].reverse())
    await inventoryAtTakeover(c, journal)
    expect(journal.types()).toEqual(['run.started'])
  })

  it('an inventory that cannot be read again is said, and the frozen hosts are driven', async () => {
    const {journal, c} = await started(fleet(2))
    const notes: string[] = []
    const driven = await inventoryAtTakeover(c, journal, (line) => notes.push(line))
    expect(driven.hosts.stable).toEqual(fleet(2))
    expect(journal.ofType('inventory.unreadable')[0]?.data).toMatchObject({pool: 'stable', from: 'hosts.json'})
    expect(notes[0]).toMatch(/could not be read again at the takeover .*no such file.*: driving the hosts frozen when the run started/)
    expect(replay(journal.events()).warnings).toHaveLength(1)
  })
})

describe('inventoryDiff', () => {
  it('compares by address', () => {
    const a = {name: 'a', address: '10.0.0.1:80'}
    const renamed = {name: 'a2', address: '10.0.0.1:80'}
    const b = {name: 'b', address: '10.0.0.2:80'}
    expect(inventoryDiff([a, b], [renamed])).toEqual({vanished: [b], added: []})
  })
})
