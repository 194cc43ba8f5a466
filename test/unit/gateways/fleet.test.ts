// A fleet is confirmed only when every instance serves the revision; a failing
// instance is named, retried within the publish, and a rollback names the
// instances that may still send traffic to gray.
import {describe, expect, test} from 'vitest'
import {FleetGateway} from '../../../src/adapters/gateways/fleet.js'
import {GatewayError} from '../../../src/core/errors.js'
import type {AppliedPolicy, Gateway, Policy} from '../../../src/core/ports.js'

class Instance implements Gateway {
  readonly type = 'nginx'
  served: AppliedPolicy | null = null
  failures = 0
  publishes = 0
  constructor(private readonly permanent = false) {}
  capabilities() {
    return {rules: [], sticky: [], stickySplit: true, tag: true}
  }
  render(policy: Policy) {
    return `policy ${policy.revision}`
  }
  async publish(policy: Policy): Promise<AppliedPolicy> {
    this.publishes++
    if (this.failures > 0) {
      this.failures--
      throw new GatewayError('reload failed', {permanent: this.permanent})
    }
    this.served = {revision: policy.revision, weightBp: policy.weightBp, mode: policy.mode}
    return this.served
  }
  async readBack() {
    return this.served
  }
}

const policy = (revision: string, weightBp: number): Policy => ({service: 's', revision, mode: 'split', weightBp, sticky: {kind: 'ip'}, rules: [], stable: [], gray: []})

function fleet(...instances: Instance[]) {
  return new FleetGateway(
    instances.map((gateway, i) => ({name: `edge-${i + 1}`, gateway})),
    {attempts: 3, baseDelayMs: 1, maxDelayMs: 2},
  )
}

describe('a gateway fleet', () => {
  test('confirms a revision once every instance serves it', async () => {
    const [a, b, c] = [new Instance(), new Instance(), new Instance()]
    expect(await fleet(a, b, c).publish(policy('r1', 500))).toEqual({revision: 'r1', weightBp: 500, mode: 'split'})
    expect([a, b, c].map((i) => i.served?.revision)).toEqual(['r1', 'r1', 'r1'])
  })

  test('retries an instance within the publish and confirms when it comes round', async () => {
    const flaky = new Instance()
    flaky.failures = 2
    expect((await fleet(new Instance(), flaky).publish(policy('r2', 100))).revision).toBe('r2')
    expect(flaky.publishes).toBe(3)
  })

  test('fails, naming the instance that does not serve the revision; the others do', async () => {
    const [a, b, c] = [new Instance(), new Instance(), new Instance()]
    const gateway = fleet(a, b, c)
    await gateway.publish(policy('r1', 100))
    c.failures = 10
    const error = (await gateway.publish(policy('r2', 1000)).catch((e: unknown) => e)) as GatewayError
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('confirmed on 2 of 3 nginx instances (edge-1, edge-2), not on edge-3')
    expect(await gateway.readBackEach()).toEqual([
      {name: 'edge-1', applied: {revision: 'r2', weightBp: 1000, mode: 'split'}},
      {name: 'edge-2', applied: {revision: 'r2', weightBp: 1000, mode: 'split'}},
      {name: 'edge-3', applied: {revision: 'r1', weightBp: 100, mode: 'split'}},
    ])
    await expect(gateway.readBack()).rejects.toThrow('edge-3 serves revision r1 (1%)')
  })

  test('a rollback that does not reach every instance names those that may still send traffic to gray', async () => {
    const [a, b] = [new Instance(), new Instance()]
    const gateway = fleet(a, b)
    await gateway.publish(policy('r1', 5000))
    b.failures = 3
    await expect(gateway.publish(policy('rb', 0))).rejects.toThrow('edge-2 may still send traffic to gray')
    // the driver tries again: the instance that already serves it is asked again and answers at once
    expect((await gateway.publish(policy('rb', 0))).revision).toBe('rb')
    expect(b.served?.revision).toBe('rb')
  })

  test('is permanent only when every failing instance refused for good', async () => {
    const refusing = new Instance(true)
    refusing.failures = 1
    const error = (await fleet(new Instance(), refusing).publish(policy('r3', 100)).catch((e: unknown) => e)) as GatewayError
    expect(error.permanent).toBe(true)
    expect(refusing.publishes).toBe(1)
  })
})

describe('gateway.instances in gray.yaml', () => {
  test('builds one gateway per instance, each with its own files, socket and argv', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const path = await import('node:path')
    const {loadConfig} = await import('../../../src/core/config/load.js')
    const {createGateway} = await import('../../../src/adapters/factory.js')
    const {HaproxyGateway} = await import('../../../src/adapters/gateways/haproxy/index.js')
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-fleet-'))
    const file = path.join(dir, 'gray.yaml')
    writeFileSync(
      file,
      `service: shop
hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}
deploy: {command: ["true"]}
gateway:
  type: haproxy
  fragment: a/shop.cfg
  socket: a/admin.sock
  instances:
    - {name: lb-1}
    - {name: lb-2, fragment: b/shop.cfg, socket: "ipv4@10.0.0.2:9999", reload: [ssh, lb-2, systemctl, reload, haproxy]}
`,
    )
    const config = await loadConfig(file, {})
    const gateway = await createGateway(config)
    expect(gateway).toBeInstanceOf(FleetGateway)
    const members = (gateway as FleetGateway).members
    expect(members.map((m) => m.name)).toEqual(['lb-1', 'lb-2'])
    const [one, two] = members.map((m) => (m.gateway as unknown as {config: Record<string, unknown>}).config)
    expect(members.every((m) => m.gateway instanceof HaproxyGateway)).toBe(true)
    expect(one).toMatchObject({fragment: path.join(dir, 'a/shop.cfg'), socket: path.join(dir, 'a/admin.sock'), reload: ['systemctl', 'reload', 'haproxy']})
    expect(two).toMatchObject({
      fragment: path.join(dir, 'b/shop.cfg'),
      socket: 'ipv4@10.0.0.2:9999',
      test: ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg', '-f', path.join(dir, 'b/shop.cfg')],
      reload: ['ssh', 'lb-2', 'systemctl', 'reload', 'haproxy'],
    })
  })

  test('refuses two instances with one name', async () => {
    const {grayConfigSchema} = await import('../../../src/core/config/schema.js')
    const result = grayConfigSchema.safeParse({
      service: 's',
      hosts: {stable: ['127.0.0.1:9'], gray: ['127.0.0.1:10']},
      deploy: {command: ['true']},
      gateway: {type: 'nginx', include: '/x.conf', instances: [{name: 'a'}, {name: 'a'}]},
    })
    expect(result.success).toBe(false)
    expect(JSON.stringify(result.error?.issues)).toContain('must give every instance its own name')
  })
})
