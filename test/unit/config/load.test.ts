import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import {configFromObject, loadConfig} from '../../../src/core/config/load.js'
import type {GrayConfig} from '../../../src/core/config/model.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'

const GOOD = path.resolve('test/fixtures/configs/good')
const MINUTE = 60_000

const minimal = {
  service: 'shop',
  hosts: {stable: ['10.0.0.21:8080'], gray: ['10.0.0.11:8080']},
  deploy: {command: ['deploy', '{host.name}', '{version}']},
  gateway: {type: 'sandbox'},
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gray-config-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function refusal(run: () => unknown): Promise<InvalidConfigError> {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError)
    return error as InvalidConfigError
  }
  throw new Error('the config was accepted')
}

describe('loadConfig', () => {
  it('normalises the SPEC example', async () => {
    const env = {SENTRY_TOKEN: 'sntrys_secret', GRAY_WEBHOOK: 'https://hooks.example/gray'}
    const config = await loadConfig(path.join(GOOD, 'full.yaml'), env)
    const expected: GrayConfig = {
      file: path.join(GOOD, 'full.yaml'),
      service: 'checkout',
      state: {dir: path.join(GOOD, '.gray')},
      hosts: {
        stable: ['10.0.0.21:8080', '10.0.0.22:8080', '10.0.0.23:8080'].map((a) => ({name: a, address: a})),
        gray: [{name: '10.0.0.11:8080', address: '10.0.0.11:8080'}],
      },
      deploy: {
        type: 'command',
        command: ['ssh', '{host.name}', 'sudo /opt/checkout/deploy {version}'],
        concurrency: 10,
        timeoutMs: 5 * MINUTE,
        retries: 1,
        health: {url: 'http://{host.address}/healthz', expect: 200, timeoutMs: 60_000, intervalMs: 1000},
      },
      gateway: {
        type: 'nginx',
        include: '/etc/nginx/gray/checkout.conf',
        variable: 'gray_checkout_upstream',
        test: ['nginx', '-t'],
        reload: ['nginx', '-s', 'reload'],
      },
      traffic: {
        sticky: {kind: 'cookie', name: 'uid'},
        rules: [
          {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
          {kind: 'in', field: {source: 'cookie', name: 'device_id'}, values: ['d-42', 'd-43']},
          {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: 1000, max: 1999},
          {kind: 'cidr', cidrs: ['10.9.0.0/16']},
        ],
        tag: {header: 'X-Gray-Tag', value: 'gray'},
        rotate: true,
      },
      steps: [
        {weight: 1, bakeMs: 5 * MINUTE, pause: false},
        {weight: 10, bakeMs: 10 * MINUTE, pause: false},
        {weight: 50, bakeMs: 0, pause: true}, // a pause step without a bake waits at once
        {weight: 100, bakeMs: 10 * MINUTE, pause: false},
      ],
      metrics: {
        prom: {type: 'prometheus', url: 'http://127.0.0.1:9090', timeoutMs: 10_000},
        crash: {type: 'sentry', url: 'https://sentry.example', org: 'acme', project: 'app', token: 'sntrys_secret', timeoutMs: 10_000},
      },
      gates: {
        intervalMs: 30_000,
        windowMs: 5 * MINUTE,
        checks: [
          {
            name: 'backend-5xx',
            source: 'prom',
            errors: 'sum(increase(http_requests_total{service="checkout",version="{version}",code=~"5.."}[{window}]))',
            total: 'sum(increase(http_requests_total{service="checkout",version="{version}"}[{window}]))',
            max: 0.01,
            baseline: {maxIncrease: 1.5, minDelta: 0.001},
            minSamples: 300,
            failures: 2,
            critical: false,
            noData: 'hold',
            errorLimit: 4,
            failClosed: false,
            windowMs: 5 * MINUTE,
            minPasses: 3,
          },
          {
            name: 'frontend-crash-free',
            source: 'crash',
            release: '{version}',
            min: 0.995,
            minSamples: 1,
            failures: 2,
            critical: false,
            noData: 'hold',
            errorLimit: 4,
            failClosed: false,
            windowMs: 5 * MINUTE,
            minPasses: 3,
          },
        ],
      },
      notify: [{webhook: 'https://hooks.example/gray', on: ['step', 'paused', 'rolled_back', 'completed']}],
    }
    expect(config).toStrictEqual(expected)
  })

  it('reads the sandbox example', async () => {
    const config = await loadConfig(path.join(GOOD, 'sandbox.yaml'), {})
    expect(config.gateway).toEqual({type: 'sandbox', listen: '127.0.0.1:18080', admin: '127.0.0.1:18081'})
    expect(config.hosts.gray).toEqual([{name: 'gray-1', address: '127.0.0.1:9201'}])
    expect(config.metrics.hosts).toEqual({type: 'scrape', path: '/metrics', timeoutMs: 5000})
    expect(config.steps[1]).toEqual({weight: 50, bakeMs: 20_000, pause: false, hosts: {count: 1}})
    expect(config.gates?.checks.map((c) => [c.name, c.windowMs, c.critical])).toEqual([
      ['error-rate', 10_000, false],
      ['latency-p99', 10_000, true],
    ])
    expect(config.traffic.sticky).toEqual({kind: 'header', name: 'X-User'})
  })

  it('fills every default', () => {
    const config = configFromObject(minimal, path.join(dir, 'gray.yaml'), {})
    expect(config).toStrictEqual({
      file: path.join(dir, 'gray.yaml'),
      service: 'shop',
      state: {dir: path.join(dir, '.gray')},
      hosts: {stable: [{name: '10.0.0.21:8080', address: '10.0.0.21:8080'}], gray: [{name: '10.0.0.11:8080', address: '10.0.0.11:8080'}]},
      deploy: {type: 'command', command: ['deploy', '{host.name}', '{version}'], concurrency: 10, timeoutMs: 5 * MINUTE, retries: 1},
      gateway: {type: 'sandbox', listen: '127.0.0.1:8080', admin: '127.0.0.1:8081'},
      traffic: {sticky: {kind: 'ip'}, rules: [], rotate: true},
      steps: [1, 10, 50, 100].map((weight) => ({weight, bakeMs: 5 * MINUTE, pause: false})),
      metrics: {},
      notify: [],
    })
  })

  it('fills nginx, metric, gate and notify defaults', () => {
    const config = configFromObject(
      {
        ...minimal,
        service: 'check.out-2',
        state: {dir: 'state/journal'},
        deploy: {...minimal.deploy, health: {url: 'http://{host.address}/healthz'}},
        gateway: {type: 'nginx', include: 'nginx/gray.conf'},
        metrics: {
          s: {type: 'scrape'},
          p: {type: 'prometheus', url: 'http://prom:9090'},
          c: {type: 'command', command: ['./measure', '{version}']},
          e: {type: 'sentry', url: 'https://sentry.io', org: 'o', project: 'p'},
        },
        gates: {checks: [{name: 'a', source: 'p', query: 'up', min: 1, window: '1m'}]},
        notify: [{webhook: 'https://hooks.example/x'}],
      },
      path.join(dir, 'conf', 'gray.yaml'),
      {},
    )
    expect(config.state.dir).toBe(path.join(dir, 'conf', 'state', 'journal'))
    expect(config.deploy.health).toEqual({url: 'http://{host.address}/healthz', expect: 200, timeoutMs: 60_000, intervalMs: 1000})
    expect(config.gateway).toEqual({
      type: 'nginx',
      include: path.join(dir, 'conf', 'nginx', 'gray.conf'),
      variable: 'gray_check_out_2_upstream',
      test: ['nginx', '-t'],
      reload: ['nginx', '-s', 'reload'],
    })
    expect(config.metrics).toEqual({
      s: {type: 'scrape', path: '/metrics', timeoutMs: 5000},
      p: {type: 'prometheus', url: 'http://prom:9090', timeoutMs: 10_000},
      c: {type: 'command', command: ['./measure', '{version}'], timeoutMs: 30_000},
      e: {type: 'sentry', url: 'https://sentry.io', org: 'o', project: 'p', timeoutMs: 10_000},
    })
    expect(config.gates).toEqual({
      intervalMs: 30_000,
      windowMs: 5 * MINUTE,
      checks: [
        {name: 'a', source: 'p', query: 'up', min: 1, minSamples: 1, failures: 2, critical: false, noData: 'hold', errorLimit: 4, failClosed: false, windowMs: MINUTE, minPasses: 3},
      ],
    })
    expect(config.notify).toEqual([{webhook: 'https://hooks.example/x', on: ['step', 'paused', 'rolled_back', 'completed']}])
  })

  it('reads ssh key and known_hosts paths relative to gray.yaml; ~ and absolute paths are kept for ssh', () => {
    const at = (ssh: Record<string, unknown>) =>
      configFromObject({...minimal, deploy: {...minimal.deploy, ssh}}, path.join(dir, 'conf', 'gray.yaml'), {}).deploy.ssh
    expect(at({identityFile: 'keys/deploy', knownHostsFile: 'known_hosts'})).toMatchObject({
      identityFile: path.join(dir, 'conf', 'keys', 'deploy'),
      knownHostsFile: path.join(dir, 'conf', 'known_hosts'),
    })
    expect(at({identityFile: '~/.ssh/deploy', knownHostsFile: '/etc/gray/known_hosts'})).toMatchObject({
      identityFile: '~/.ssh/deploy',
      knownHostsFile: '/etc/gray/known_hosts',
    })
    expect(at({user: 'deploy'})?.identityFile).toBeUndefined()
  })

  it('names the path and suggests gray init when the file is missing', async () => {
    const file = path.join(dir, 'nowhere', 'gray.yaml')
    const error = await refusal(() => loadConfig(file, {}))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.exitCode).toBe(ExitCode.usage)
    expect(error.message).toContain(file)
    expect(error.hint).toContain('gray init')
    expect(error.hint).toContain('-c')
  })

  it('refuses a directory given as the config', async () => {
    await mkdir(path.join(dir, 'gray.yaml'))
    const error = await refusal(() => loadConfig(path.join(dir, 'gray.yaml'), {}))
    expect(error.message).toContain('must be a file, got a directory')
  })

  it('reports YAML syntax errors with line and column', async () => {
    const file = path.join(dir, 'gray.yaml')
    await writeFile(file, 'service: shop\nhosts:\n  stable: ["a:1"\n  gray: []\n')
    const error = await refusal(() => loadConfig(file, {}))
    expect(error.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: must be valid YAML, got `))
  })

  it('lists every problem, the first one as the message', async () => {
    const error = await refusal(() =>
      configFromObject({...minimal, service: 'Bad Name', deploy: {command: ['x'], concurrency: 0}, steps: [{weight: 101}]}, 'gray.yaml', {}),
    )
    expect(error.problems).toEqual([
      'service: must be a service name of up to 63 letters, digits, _ . - starting with a letter or digit, got "Bad Name"',
      'deploy.concurrency: must be a whole number of at least 1, got 0',
      'steps[0].weight: must be 0..100, got 101',
    ])
    expect(error.message).toBe(error.problems[0])
    expect(error.hint).toContain('2 more problems')
  })
})

describe('environment variables', () => {
  const withToken = (token: string) => ({
    ...minimal,
    metrics: {crash: {type: 'sentry', url: 'https://sentry.example', org: 'acme', project: 'app', token}},
  })

  it('fills ${VAR} in any string, after YAML parsing', async () => {
    const file = path.join(dir, 'gray.yaml')
    await writeFile(
      file,
      ['service: ${SERVICE}', 'hosts: { stable: ["${STABLE}"], gray: [10.0.0.11:8080] }', 'deploy: { command: [deploy, "{version}"] }', 'gateway: { type: sandbox }', 'traffic: { rules: [{ header: X-Env, equals: "$${NOT_A_VAR}" }] }', ''].join('\n'),
    )
    const config = await loadConfig(file, {SERVICE: 'shop', STABLE: '10.0.0.21:8080'})
    expect(config.service).toBe('shop')
    expect(config.hosts.stable).toEqual([{name: '10.0.0.21:8080', address: '10.0.0.21:8080'}])
    expect(config.traffic.rules).toEqual([{kind: 'equals', field: {source: 'header', name: 'X-Env'}, value: '${NOT_A_VAR}'}])
  })

  it('cannot inject YAML through a value', () => {
    const config = configFromObject(withToken('${TOKEN}'), 'gray.yaml', {TOKEN: 'abc\nservice: evil\ngates: {}'})
    expect(config.service).toBe('shop')
    expect(config.metrics.crash).toMatchObject({token: 'abc\nservice: evil\ngates: {}'})
    expect(config.gates).toBeUndefined()
  })

  it('names an unset variable and the key that needs it', async () => {
    const error = await refusal(() => configFromObject(withToken('Bearer ${SENTRY_TOKEN}'), 'gray.yaml', {}))
    expect(error.message).toBe(
      'metrics.crash.token: needs environment variable SENTRY_TOKEN (set it, or write $${SENTRY_TOKEN} for the literal text), got it unset',
    )
  })

  it('never echoes a value that came from the environment', async () => {
    const secret = 'hunter2-very-secret'
    const cases = [
      {...minimal, service: '${SECRET}'},
      {...minimal, hosts: {stable: ['${SECRET}'], gray: ['10.0.0.11:8080']}},
      {...minimal, deploy: {command: ['deploy', '${SECRET}{verison}']}},
      {...minimal, gateway: {type: 'http', url: '${SECRET}'}},
    ]
    for (const input of cases) {
      const error = await refusal(() => configFromObject(input, 'gray.yaml', {SECRET: `../${secret}`}))
      expect(error.problems.join('\n')).not.toContain(secret)
      expect(error.message).toContain('a value from ${SECRET}')
    }
  })

  it('refuses a malformed reference', async () => {
    const error = await refusal(() => configFromObject(withToken('${not a name}'), 'gray.yaml', {}))
    expect(error.message).toMatch(/^metrics\.crash\.token: must name an environment variable/)
  })
})
