// The nginx gateway without nginx: rendering, refusals, and the put-back when
// the `test` command fails (real files in a temp dir, real child processes).
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, test} from 'vitest'
import {NginxGateway, nginxSaid, statusSocketPath} from '../../../src/adapters/gateways/nginx/index.js'
import {ConfigError, GatewayError} from '../../../src/core/errors.js'
import type {Policy} from '../../../src/core/ports.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gray-nginx-unit-'))
})
afterEach(() => rm(dir, {recursive: true, force: true}))

const REJECT = ['sh', '-c', 'echo "nginx: [emerg] invalid port in upstream \\"x:99999\\" in gray.conf:9" >&2; echo "nginx: configuration file test failed" >&2; exit 1']

function gateway(over: {test?: string[]; reload?: string[]; variable?: string} = {}): NginxGateway {
  return new NginxGateway(
    {type: 'nginx', include: join(dir, 'checkout.conf'), variable: over.variable ?? 'gray_checkout_upstream', test: over.test ?? ['true'], reload: over.reload ?? ['true']},
    'checkout',
    {confirmTimeoutMs: 200, confirmIntervalMs: 10},
  )
}

function policy(over: Partial<Policy> = {}): Policy {
  return {
    service: 'checkout',
    revision: 'r1',
    mode: 'split',
    weightBp: 125,
    sticky: {kind: 'header', name: 'X-User'},
    rules: [{kind: 'cidr', cidrs: ['::ffff:10.9.0.0/112']}],
    tag: {header: 'X-Gray-Tag', value: 'gr$ay"'},
    stable: [{name: 'web-1', address: '10.0.0.21:8080'}],
    gray: [{name: 'web-9', address: '10.0.0.11:8080'}],
    ...over,
  }
}

describe('nginx render', () => {
  test('writes the split with gray first, the missing-key guard, the tag as literal text and the status server', () => {
    const text = gateway().render(policy())
    expect(text).toContain('# revision: r1')
    expect(text).toContain('split_clients "${http_x_user}" $gray_checkout_upstream_split {\n    1.25% gray_checkout_gray;\n    * gray_checkout_stable;\n}')
    expect(text).toContain('map $http_x_user $gray_checkout_upstream_weighted {\n    "" gray_checkout_stable;')
    expect(text).toContain('geo $gray_checkout_upstream_rule1 {\n    default "";\n    10.9.0.0/16 1;')
    expect(text).toContain('default "gr$ay\\"";')
    expect(text).toContain(`listen unix:${join(dir, '.checkout.gray.sock')};`)
    expect(text).toContain(`"worker":$pid}'`)
  })

  test('at 0% and 100% there is no split_clients (nginx refuses 0%), and 100% sends keyless requests to gray', () => {
    expect(gateway().render(policy({weightBp: 0}))).not.toContain('split_clients')
    const full = gateway().render(policy({weightBp: 10_000, rules: []}))
    expect(full).not.toContain('split_clients')
    expect(full).toContain('map "" $gray_checkout_upstream {\n    default gray_checkout_gray;')
  })

  test('an empty gray pool gets a placeholder server, and is refused when the policy would route to it', () => {
    expect(gateway().render(policy({weightBp: 0, rules: [], gray: []}))).toContain('server 127.0.0.1:1 down;')
    expect(() => gateway().render(policy({gray: []}))).toThrow(GatewayError)
    expect(() => gateway().render(policy({stable: []}))).toThrow(/no stable hosts/)
  })

  test('refuses host addresses that are not host:port and header names nginx drops', () => {
    expect(() => gateway().render(policy({stable: [{name: 'x', address: '10.0.0.1:80; include /etc/passwd'}]}))).toThrow(/not host:port/)
    expect(() => gateway().render(policy({sticky: {kind: 'header', name: 'X_User'}}))).toThrow(/cannot read header/)
  })

  test('a cookie name nginx cannot spell as a variable is read from the Cookie header', () => {
    const text = gateway().render(policy({sticky: {kind: 'cookie', name: 'user-id'}}))
    expect(text).toContain('map $http_cookie $gray_checkout_upstream_key {')
    expect(text).toContain('split_clients "${gray_checkout_upstream_key}"')
  })

  test('an invalid variable name is a config error', () => {
    expect(() => gateway({variable: 'gray-checkout'})).toThrow(ConfigError)
  })

  test('the status socket is a dotfile next to the include', () => {
    expect(statusSocketPath('/etc/nginx/gray/checkout.conf')).toBe('/etc/nginx/gray/.checkout.gray.sock')
  })

  test("nginxSaid keeps nginx's own error lines", () => {
    expect(nginxSaid('nginx: [emerg] bad thing in a.conf:3\nnginx: configuration file b test failed\n')).toBe('nginx: [emerg] bad thing in a.conf:3')
    expect(nginxSaid('just one line\n')).toBe('just one line')
  })
})

describe('nginx publish without nginx', () => {
  test('a rejected policy puts the previous file back and carries nginx’s message', async () => {
    const include = join(dir, 'checkout.conf')
    await writeFile(include, '# previous\n')
    const error = (await gateway({test: REJECT}).publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('[emerg] invalid port in upstream')
    expect(await readFile(include, 'utf8')).toBe('# previous\n')
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  test('a rejected first policy leaves no file behind', async () => {
    await expect(gateway({test: REJECT}).publish(policy())).rejects.toThrow(GatewayError)
    expect(await readdir(dir)).toEqual([])
  })

  test('a failing reload is a retryable error and the tested file stays', async () => {
    const error = (await gateway({reload: ['false']}).publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('did not reload')
    expect(await readFile(join(dir, 'checkout.conf'), 'utf8')).toContain('# revision: r1')
  })

  test('a reload nginx never acts on is not confirmed', async () => {
    const error = (await gateway().publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(false)
    expect(error.message).toMatch(/nothing answers|still serves/)
  })

  test('readBack is null when gray has written nothing', async () => {
    expect(await gateway().readBack()).toBeNull()
  })

  test('a test command that cannot start is retryable', async () => {
    const error = (await gateway({test: ['/nonexistent/nginx', '-t']}).publish(policy()).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('could not be started')
  })
})
