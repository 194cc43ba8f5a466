// Config edges (class 4 of issue 11) and terminal-unsafe text in gray.yaml
// (class 2): everything that can be refused before a run is refused by
// loading the config (what `validate` does) with a ConfigError, exit 2, one
// sentence naming the key; only regular files are read as config.
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import {readConfigFile} from '../../../src/core/config/file.js'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import {validateService} from '../../../src/services/validate.js'
import {RAW_CONTROL} from '../../support/hostile.js'

type Doc = Record<string, unknown>
const base = (): Doc => ({
  service: 'shop',
  hosts: {stable: ['10.0.0.21:8080'], gray: ['10.0.0.11:8080']},
  deploy: {command: ['deploy', '{host.name}', '{version}']},
  gateway: {type: 'http', url: 'http://127.0.0.1:9/policies/{service}'},
  steps: [{weight: 10, bake: '5m'}, {weight: 100}],
  metrics: {prom: {type: 'prometheus', url: 'http://127.0.0.1:9'}},
  gates: {checks: [{name: 'errors', source: 'prom', query: 'up', max: 1}]},
})

function refusal(doc: Doc, env: Record<string, string> = {}): ConfigError {
  try {
    configFromObject(doc, '/tmp/gray.yaml', env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('the config was accepted')
}

const cases: Array<[string, (d: Doc) => void, RegExp, Record<string, string>?]> = [
  ['bake: 30d (overflows a timer)', (d) => (d.steps = [{weight: 10, bake: '30d'}]), /steps\[0\]\.bake: must be a duration of at most 7d/],
  ['bake: 25d, just past 2^31-1 ms', (d) => (d.steps = [{weight: 10, bake: '25d'}]), /steps\[0\]\.bake: must be a duration of at most 7d/],
  ['gates.interval: 8d', (d) => (d.gates = {interval: '8d', checks: [{name: 'e', source: 'prom', query: 'up', max: 1}]}), /gates\.interval: must be a duration of at most 7d/],
  ['gates.window: 99999999d', (d) => (d.gates = {window: '99999999d', checks: [{name: 'e', source: 'prom', query: 'up', max: 1}]}), /gates\.window: must be a duration of at most 7d/],
  ['deploy.timeout: 1000h', (d) => (d.deploy = {command: ['deploy'], timeout: '1000h'}), /deploy\.timeout: must be a duration of at most 7d/],
  ['hooks.timeout: 30d', (d) => (d.hooks = {timeout: '30d', onComplete: ['true']}), /hooks\.timeout: must be a duration of at most 7d/],
  ['a metric source timeout of 365d', (d) => (d.metrics = {prom: {type: 'prometheus', url: 'http://127.0.0.1:9', timeout: '365d'}}), /metrics\.prom\.timeout: must be a duration of at most 7d/],
  ['source: constructor (an inherited key)', (d) => (d.gates = {checks: [{name: 'e', source: 'constructor', query: 'up', max: 1}]}), /gates\.checks\[0\]\.source: must be one of the sources under metrics: prom/],
  ['source: toString', (d) => (d.gates = {checks: [{name: 'e', source: 'toString', query: 'up', max: 1}]}), /gates\.checks\[0\]\.source: must be one of the sources/],
  ['source: __proto__', (d) => (d.gates = {checks: [{name: 'e', source: '__proto__', query: 'up', max: 1}]}), /gates\.checks\[0\]\.source: must be one of the sources/],
  ['a metric source named __proto__', (d) => (d.metrics = JSON.parse('{"__proto__": {"type": "prometheus", "url": "http://127.0.0.1:9"}}')), /metrics\.__proto__: must not be named __proto__/],
  ['a metric source named constructor', (d) => (d.metrics = {constructor: {type: 'prometheus', url: 'http://127.0.0.1:9'}}), /must be a source name other than __proto__, constructor or prototype/],
  ['a NUL byte in deploy.command', (d) => (d.deploy = {command: ['deploy', 'a\u0000b']}), /deploy\.command\[1\]: must not hold a NUL byte/],
  ['a NUL byte from ${VAR} in deploy.command', (d) => (d.deploy = {command: ['deploy', '--x=${ARG_VALUE}']}), /deploy\.command\[1\]: must not hold a NUL byte/, {ARG_VALUE: 'abc\u0000def'}],
  ['a NUL byte in a hook', (d) => (d.hooks = {onComplete: ['notify', '\u0000']}), /hooks\.onComplete\[1\]: must not hold a NUL byte/],
  ['{version} in the http gateway url (only {service} is filled there)', (d) => (d.gateway = {type: 'http', url: 'http://127.0.0.1:9/{version}/{service}'}), /gateway\.url: may use only the placeholders \{service\}/],
  ['{service} in a Prometheus url (nothing is filled there)', (d) => (d.metrics = {prom: {type: 'prometheus', url: 'http://127.0.0.1:9/{service}'}}), /metrics\.prom\.url: must not use placeholders/],
  ['{version} in a webhook url', (d) => (d.notify = [{webhook: 'https://hooks.example/{version}/abcdefgh'}]), /notify\[0\]\.webhook: must not use placeholders/],
  ['{host.name} in a hook (hooks run once, not per host)', (d) => (d.hooks = {onComplete: ['notify', '{host.name}']}), /hooks\.onComplete\[1\]: may use only the placeholders/],
  ['{version} in the APISIX url', (d) => (d.gateway = {type: 'apisix', url: 'http://127.0.0.1:9/{version}', routeId: 1}), /gateway\.url: must not use placeholders/],
  ['a bidi override in a host name', (d) => (d.hosts = {stable: ['10.0.0.21:8080'], gray: [{name: 'web-1\u202Egnp.exe', address: '10.0.0.11:8080'}]}), /hosts\.gray\[0\]\.name: must be a host name without control characters .*bidi/],
  ['an isolate (U+2066) in a host name', (d) => (d.hosts = {stable: [{name: '\u2066db\u2069', address: '10.0.0.21:8080'}], gray: ['10.0.0.11:8080']}), /hosts\.stable\[0\]\.name: must be a host name without control characters/],
  ['a bidi override in a check name', (d) => (d.gates = {checks: [{name: 'errors\u202E', source: 'prom', query: 'up', max: 1}]}), /gates\.checks\[0\]\.name: must be a check name without control characters/],
  ['an OSC 8 link in a query', (d) => (d.gates = {checks: [{name: 'e', source: 'prom', query: 'up\u001b]8;;https://evil\u0007', max: 1}]}), /gates\.checks\[0\]\.query: must be a query without control characters/],
  ['an escape in a rule value', (d) => (d.traffic = {rules: [{header: 'X-Gray', equals: '1\u001b[2J'}]}), /traffic\.rules\[0\]\.equals: must be a string .*without control characters/],
  ['an escape in the ssh user', (d) => (d.deploy = {command: ['deploy'], ssh: {user: 'root\u001b[2J'}}), /deploy\.ssh\.user: must be a user name without control characters/],
  ['a gateway token of 3 characters', (d) => (d.gateway = {type: 'http', url: 'http://127.0.0.1:9/p', token: 'abc'}), /gateway\.token: must be at least 8 characters/],
  ['a ${VAR} of 2 characters in an argv', (d) => (d.deploy = {command: ['deploy', '--replicas=${REPLICAS}']}), /deploy\.command\[1\]: must not take a value of fewer than 4 characters from \$\{REPLICAS\}/, {REPLICAS: '12'}],
]

describe('gray.yaml edges are refused when the config is loaded (validate, exit 2)', () => {
  it.each(cases)('%s', (_name, mutate, message, env) => {
    const doc = base()
    mutate(doc)
    const error = refusal(doc, env)
    expect(error.exitCode).toBe(ExitCode.usage)
    expect((error as ConfigError & {problems: string[]}).problems.join('\n')).toMatch(message)
    expect(error.message).not.toMatch(RAW_CONTROL)
  })

  it('a week is still a valid bake', () => {
    const doc = base()
    doc.steps = [{weight: 10, bake: '7d'}, {weight: 100}]
    expect(configFromObject(doc, '/tmp/gray.yaml', {}).steps[0]?.bakeMs).toBe(7 * 24 * 3600_000)
  })
})

describe('only a regular file is read as config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-cfg-'))

  it('-c naming a FIFO is refused at once, without waiting for a writer', async () => {
    const fifo = path.join(dir, 'fifo.yaml')
    execFileSync('mkfifo', [fifo])
    await expect(readConfigFile(fifo)).rejects.toThrow(/fifo\.yaml: must be a regular file, got a FIFO/)
  })

  it('-c /dev/zero is refused before a byte is read', async () => {
    await expect(readConfigFile('/dev/zero')).rejects.toThrow(/\/dev\/zero: must be a regular file, got a device/)
  })

  it('-c naming a directory says so', async () => {
    await expect(readConfigFile(dir)).rejects.toThrow(/must be a file, got a directory/)
  })

  it.each([
    ['a file', (p: string) => writeFileSync(p, 'not a dir')],
    ['a FIFO', (p: string) => execFileSync('mkfifo', [p])],
  ])('state.dir naming %s is refused by validate with exit 2', async (what, make) => {
    const here = mkdtempSync(path.join(tmpdir(), 'gray-state-'))
    make(path.join(here, 'state'))
    writeFileSync(path.join(here, 'gray.yaml'), JSON.stringify({...base(), state: {dir: 'state'}}))
    const error = await validateService(path.join(here, 'gray.yaml')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(ExitCode.usage)
    expect((error as ConfigError).message).toMatch(new RegExp(`state\\.dir: must be a directory, got ${what}`))
  })

  it('state.dir under a file is refused too', async () => {
    const here = mkdtempSync(path.join(tmpdir(), 'gray-state-'))
    writeFileSync(path.join(here, 'plain'), 'x')
    mkdirSync(path.join(here, 'ok'))
    writeFileSync(path.join(here, 'gray.yaml'), JSON.stringify({...base(), state: {dir: 'plain/.gray'}}))
    await expect(validateService(path.join(here, 'gray.yaml'))).rejects.toThrow(/state\.dir: must be a directory/)
  })
})

describe('secrets found in gray.yaml', () => {
  it('the user and password of a URL are secrets, and so is what Basic auth sends for them', async () => {
    const {redact} = await import('../../../src/core/redact.js')
    const doc = base()
    doc.metrics = {prom: {type: 'prometheus', url: 'http://metrics-user:p%40ss-w0rd-XY@127.0.0.1:9'}}
    configFromObject(doc, '/tmp/gray.yaml', {})
    const basic = Buffer.from('metrics-user:p@ss-w0rd-XY').toString('base64')
    expect(redact(`Authorization: Basic ${basic} for p@ss-w0rd-XY`)).toBe('Authorization: Basic *** for ***')
  })

  it('a ${VAR} in an argv is a secret whatever its name; the same value elsewhere in text is masked', async () => {
    const {redact} = await import('../../../src/core/redact.js')
    const doc = base()
    doc.deploy = {command: ['deploy', '--password=${DEPLOY_PASSWORD_X}', '--flag', '${PLAIN_NAME}']}
    configFromObject(doc, '/tmp/gray.yaml', {DEPLOY_PASSWORD_X: 'pw"with\\quote', PLAIN_NAME: 'plainly-secret-42'})
    expect(redact('echo: --password=pw"with\\quote plainly-secret-42')).toBe('echo: --password=*** ***')
    expect(redact(JSON.stringify({argv: ['pw"with\\quote']}))).toBe('{"argv":["***"]}')
    expect(redact(`x=${encodeURIComponent('pw"with\\quote')}`)).toBe('x=***')
  })
})
