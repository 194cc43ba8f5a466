// Bad input through the real CLI: exit 2, one line naming the problem, no
// stack trace, no .gray/ written, and the gateway never touched.
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSandbox} from '../../src/adapters/gateways/sandbox/server.js'
import {run} from '../support/cli.js'

const BAD = path.resolve('test/fixtures/configs/bad')
const corpus = readdirSync(BAD)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort()

function expectRefusal(r: {exitCode: number; stdout: string; stderr: string}, fragment?: string) {
  expect(r.exitCode, r.stderr).toBe(2)
  const first = r.stderr.split('\n')[0] ?? ''
  expect(first).toMatch(/^gray: /)
  if (fragment) expect(first).toContain(fragment)
  expect(r.stderr).not.toMatch(/\n\s+at .+[:(]\d+/)
  expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2)
}

describe.concurrent('the bad-config corpus through `gray start`', () => {
  it.each(corpus)('%s: exit 2, one line, nothing written', async (name) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-bad-'))
    cpSync(path.join(BAD, `${name}.yaml`), path.join(dir, 'gray.yaml'))
    const expected = readFileSync(path.join(BAD, `${name}.expect`), 'utf8').trim()
    const r = await run(['start', '--version', 'v2', '--yes'], {cwd: dir})
    // YAML errors name the file as given on the command line
    expectRefusal(r, expected.replace(/^[^:]*\.yaml:/, 'gray.yaml:'))
    expect(existsSync(path.join(dir, '.gray')), 'a .gray/ was written').toBe(false)
  })
})

describe('bad flags and states against a live sandbox gateway', () => {
  let sandbox: Awaited<ReturnType<typeof startSandbox>>
  let dir: string
  beforeAll(async () => {
    sandbox = await startSandbox({listen: '127.0.0.1:0', admin: '127.0.0.1:0'})
    dir = mkdtempSync(path.join(tmpdir(), 'gray-flags-'))
    const host = (url: string) => new URL(url).host
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      `service: checkout
hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}
deploy: {command: [node, -e, "process.exit(0)"]}
gateway: {type: sandbox, listen: "${host(sandbox.listenUrl)}", admin: "${host(sandbox.adminUrl)}"}
steps: [{weight: 50, bake: 1s}, {weight: 100, bake: 1s}]
`,
    )
  })
  afterAll(async () => sandbox.close())

  it.each([
    [['start'], 'Missing required flag'],
    [['start', '--version', 'v2'], 'pass --yes'],
    [['start', '--version', 'v2', '--yes', '--bogus'], 'Nonexistent flag'],
    [['plan'], 'Missing required flag'],
    [['status', '--timeout', '5m'], '--wait'],
    [['status', '--wait', '--timeout', 'soon'], '--timeout'],
    [['start', '--version', 'v2', '--yes', '-c', 'missing.yaml'], 'missing.yaml'],
    [['rollback', '--yes'], 'has no run to rollback'],
    [['promote', '--yes'], 'has no run to promote'],
    [['resume'], 'has no run to resume'],
    [['history', 'extra-arg'], 'takes no argument'],
    [['start', '--version', '$(rm -rf /)', '--yes'], '--version: must be letters, digits'],
    [['start', '--version', 'v2;reboot', '--yes'], '--version: must be letters, digits'],
    [['start', '--version', '../../etc', '--yes'], '--version: must be letters, digits'],
    [['start', '--version', 'v2', '--previous-version', 'v1 `id`', '--yes'], '--previous-version: must be letters, digits'],
    [['plan', '--version', 'v2"} or vector(1)'], '--version: must be letters, digits'],
    [['cohort', 'uid'], 'must be NAME=VALUE'],
    [['deploy-everything'], 'no command'],
  ])('gray %j → exit 2: %s', async (args, fragment) => {
    const r = await run(args, {cwd: dir})
    expectRefusal(r, fragment)
  })

  it('wrote no .gray/ and published nothing to the gateway', async () => {
    // (runs before the hostile-host test below, which publishes for another service)
    expect(existsSync(path.join(dir, '.gray'))).toBe(false)
    const served = await fetch(`${sandbox.adminUrl}/v1/policy/checkout`)
    expect(served.status).toBe(404)
  })

  it('a host name full of shell metacharacters reaches the deploy command as one literal argument', async () => {
    const host = (url: string) => new URL(url).host
    const hostile = `web-1; touch ${dir}/pwned; $(touch ${dir}/pwned2) \`touch ${dir}/pwned3\``
    const seen = path.join(dir, 'argv.log')
    writeFileSync(
      path.join(dir, 'hostile.yaml'),
      JSON.stringify({
        service: 'hostile',
        state: {dir: path.join(dir, '.gray-hostile')},
        hosts: {stable: ['127.0.0.1:9'], gray: [{name: hostile, address: '127.0.0.1:10'}]},
        deploy: {command: [process.execPath, '-e', "require('fs').appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + '\\n')", seen, '{host.name}', '{version}']},
        gateway: {type: 'sandbox', listen: host(sandbox.listenUrl), admin: host(sandbox.adminUrl)},
        steps: [{weight: 100, bake: '100ms'}],
      }),
    )
    const r = await run(['start', '-c', 'hostile.yaml', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: dir})
    expect(r.exitCode, r.stderr).toBe(0)
    const calls = readFileSync(seen, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(calls).toContainEqual([hostile, 'v2'])
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(existsSync(path.join(dir, f))).toBe(false)
  })

  it('under --json, the error is one JSON document on stdout as well', async () => {
    const r = await run(['start', '--version', 'v2', '--json'], {cwd: dir})
    expect(r.exitCode).toBe(2)
    expect(JSON.parse(r.stdout)).toMatchObject({error: {exitCode: 2}})
    expect(JSON.parse(r.stdout).error.message).toContain('--yes')
  })
})

describe('a journal that is not a run', () => {
  it('stops status and history with one sentence naming the file, and changes nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-empty-journal-'))
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      `service: checkout
hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}
deploy: {command: [node, -e, "process.exit(0)"]}
gateway: {type: sandbox, listen: 127.0.0.1:9, admin: 127.0.0.1:9}
steps: [{weight: 100, bake: 1s}]
`,
    )
    const runs = path.join(dir, '.gray', 'checkout', 'runs')
    mkdirSync(runs, {recursive: true})
    const journal = path.join(runs, '20261122T000000000Z-aaaaaa.ndjson')
    writeFileSync(journal, '')
    for (const args of [['status'], ['status', '--json'], ['history']]) {
      const r = await run(args, {cwd: dir})
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(1)
      const message = args.includes('--json') ? JSON.parse(r.stdout).error.message : r.stderr.split('\n')[0]
      expect(message).toContain(`journal ${journal} holds no run.started event`)
      expect(message).toContain(`move it out of ${runs}`)
      expect(r.stderr).not.toMatch(/\n\s+at .+[:(]\d+/)
    }
    expect(readdirSync(runs)).toEqual(['20261122T000000000Z-aaaaaa.ndjson'])
    expect(readFileSync(journal, 'utf8')).toBe('')
  })
})

describe('gray validate lists every problem', () => {
  it('all schema problems at once (exit 2), where other commands name the first and point at validate', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-problems-'))
    writeFileSync(path.join(dir, 'gray.yaml'), 'service: shop\nhosts: {stable: [127.0.0.1:9101], gray: [127.0.0.1:9201]}\ndeploy: {command: ["true"]}\ngateway: {type: sandbox}\nsteps:\n  - {weight: 10, bake: 2x}\n  - {weight: 200}\n')
    const v = await run(['validate'], {cwd: dir})
    expect(v.exitCode).toBe(2)
    expect(v.stderr).toMatch(/^gray: 2 problems in the config:\n {2}- steps\[0\]\.bake: must be a duration.*\n {2}- steps\[1\]\.weight: must be 0\.\.100, got 200$/)
    expect(v.stderr).not.toContain('run "gray validate"')
    const json = JSON.parse((await run(['validate', '--json'], {cwd: dir})).stdout)
    expect(json.error.problems).toHaveLength(2)
    const p = await run(['plan', '--version', 'v2'], {cwd: dir})
    expect(p.exitCode).toBe(2)
    expect(p.stderr).toContain('1 more problem: run "gray validate" to list them all')
  })

  it('a header name nginx drops (X_Gray) is a config error (exit 2) naming the rule, for validate and start alike', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-header-'))
    writeFileSync(
      path.join(dir, 'gray.yaml'),
      `service: shop\nhosts: {stable: [127.0.0.1:9101], gray: [127.0.0.1:9201]}\ndeploy: {command: ["true"]}\ngateway: {type: nginx, include: ${dir}/shop.conf, variable: gray_shop_upstream}\ntraffic:\n  sticky: cookie:uid\n  rules:\n    - {header: X_Gray, equals: "1"}\n`,
    )
    for (const args of [['validate'], ['plan', '--version', 'v2'], ['start', '--version', 'v2', '--previous-version', 'v1', '--yes']]) {
      const r = await run(args, {cwd: dir})
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/^gray: traffic\.rules\[0\]\.header: must be a header name nginx reads: letters, digits and "-" only .*got "X_Gray"/)
      expect(r.stderr).not.toContain('looks like a bug')
    }
  })

  it('an ip range ShenYu cannot match (10.0.0.0/12) is a config error (exit 2) for validate, plan and start, and nothing reaches the gateway', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-shenyu-cidr-'))
    // a listening fake ShenYu Admin API: any request to it would be a half-applied refusal
    const {startFakeShenyu} = await import('../fakes/shenyu.js')
    const shenyu = await startFakeShenyu()
    try {
      writeFileSync(
        path.join(dir, 'gray.yaml'),
        `service: shop\nhosts: {stable: [127.0.0.1:9101], gray: [127.0.0.1:9201]}\ndeploy: {command: ["true"]}\ngateway: {type: shenyu, url: "${shenyu.url}", password: "\${SHENYU_PASSWORD}"}\ntraffic:\n  sticky: ip\n  rules:\n    - {ip: [10.9.0.0/16, 10.0.0.0/12]}\n`,
      )
      for (const args of [['validate'], ['plan', '--version', 'v2'], ['start', '--version', 'v2', '--previous-version', 'v1', '--yes']]) {
        const r = await run(args, {cwd: dir, env: {SHENYU_PASSWORD: shenyu.password}})
        expectRefusal(r, 'traffic.rules[0].ip[1]: must be an IPv4 range ending in /8, /16, /24 or /32: ShenYu matches a client IP by its text, not by range, got "10.0.0.0/12"')
        expect(r.stderr, args[0]).toContain('change the rule or choose another gateway')
        expect(r.stderr).not.toContain('looks like a bug')
      }
      expect(existsSync(path.join(dir, '.gray')), 'a .gray/ was written').toBe(false)
      expect(shenyu.selectors.size).toBe(0)
    } finally {
      await shenyu.close()
    }
  })
})
