import {describe, expect, it} from 'vitest'
import type {GatewayCapabilities} from '../../../src/core/ports.js'
import {ruleSupportErrors, validateConfig} from '../../../src/core/config/validate.js'
import {gatewayCapabilities} from '../../../src/adapters/gateways/capabilities.js'
import {ruleCondition} from '../../../src/adapters/gateways/shenyu/index.js'
import {parse, problemsOf} from './fixtures.js'

describe('validateConfig', () => {
  it('finds nothing wrong in a sensible config', () => {
    expect(validateConfig(parse({steps: [{weight: 0}, {weight: 0}, {weight: 5, hosts: 2}, {weight: 100}]}))).toEqual([])
  })

  it('finds a host listed twice by name even with other addresses', () => {
    expect(problemsOf({hosts: {stable: [{name: 'web', address: 'a:1'}], gray: [{name: 'web', address: 'b:1'}]}})).toEqual([
      'hosts.gray[0]: must be in only one pool (it is also hosts.stable[0]), got "b:1"',
    ])
  })

  it('allows placeholders only where gray fills them', () => {
    expect(problemsOf({deploy: {command: ['x'], health: {url: 'http://{host.address}/{window}'}}})).toEqual([
      'deploy.health.url: may use only the placeholders {version} {previousVersion} {service} {host.name} {host.address}, got {window}',
    ])
    expect(
      problemsOf({
        metrics: {m: {type: 'command', command: ['measure', '{host.address}']}},
        gates: {checks: [{name: 'c', source: 'm', errors: 'e{window}', total: 't{service}{previousVersion}', max: 1}]},
      }),
    ).toEqual(['metrics.m.command[1]: may use only the placeholders {version} {previousVersion} {service} {window} {hosts}, got {host.address}'])
  })

  it('reports every meaning problem in file order', () => {
    expect(
      problemsOf({
        hosts: {stable: ['a:1', 'b:1'], gray: ['a:1']},
        steps: [{weight: 50}, {weight: 10, hosts: 9}],
        gates: {checks: [{name: 'c', source: 'nowhere', query: 'q', max: 1}]},
      }),
    ).toEqual([
      'hosts.gray[0]: must be in only one pool (it is also hosts.stable[0]), got "a:1"',
      "steps[1].weight: must not go down: at least the previous step's 50, got 10",
      'steps[1].hosts: must be at most the 2 stable hosts, got 9',
      'gates.checks[0].source: must be a source under metrics (there are none), got "nowhere"',
    ])
  })

  it('refuses ratio queries on a sentry source', () => {
    const sentry = {type: 'sentry', url: 'https://sentry.example', org: 'o', project: 'p'}
    expect(problemsOf({metrics: {s: sentry}, gates: {checks: [{name: 'c', source: 's', release: '{version}', errors: 'e', total: 't', min: 0.9}]}})).toEqual([
      'gates.checks[0].errors: must be left out: source s is sentry, which reads release, got a query',
    ])
  })
})

describe('ruleSupportErrors', () => {
  const nginxLike: GatewayCapabilities = {rules: ['equals', 'in', 'cidr'], sticky: ['cookie', 'ip'], stickySplit: true, tag: false}
  const config = parse({
    gateway: {type: 'nginx', include: '/etc/nginx/gray/shop.conf'},
    traffic: {
      sticky: 'query:uid',
      rules: [{header: 'X-Gray', equals: '1'}, {header: 'X-Uid', range: [1, 9]}, {ip: ['10.0.0.0/8']}, {cookie: 'v', prefix: 'beta-'}],
      tag: {header: 'X-Gray-Tag', value: 'gray'},
    },
  })

  it('names each rule, the sticky key and the tag the gateway cannot express', () => {
    expect(ruleSupportErrors(config, nginxLike)).toEqual([
      'traffic.rules[1]: must be a rule the nginx gateway can express (equals, in, cidr), got a range rule on header X-Uid',
      'traffic.rules[3]: must be a rule the nginx gateway can express (equals, in, cidr), got a prefix rule on cookie v',
      'traffic.sticky: must be a key the nginx gateway can split on (cookie, ip), got query:uid',
      'traffic.tag: must be left out: the nginx gateway cannot tag requests, got a tag',
    ])
  })

  it('is empty when the gateway can express everything', () => {
    const all: GatewayCapabilities = {rules: ['equals', 'in', 'prefix', 'range', 'cidr'], sticky: ['cookie', 'header', 'query', 'ip'], stickySplit: true, tag: true}
    expect(ruleSupportErrors(config, all)).toEqual([])
  })

  describe('ShenYu ip ranges', () => {
    const shenyu = parse({
      gateway: {type: 'shenyu', url: 'http://127.0.0.1:9095', password: 'test-only-password'},
      traffic: {sticky: 'ip', rules: [{header: 'X-Gray', equals: '1'}, {ip: ['10.9.0.0/16', '10.0.0.0/12']}, {ip: ['192.168.1.7/32', '2001:db8::/32']}]},
    })

    it('names each range off an octet boundary, saying why ShenYu cannot match it', () => {
      expect(ruleSupportErrors(shenyu, gatewayCapabilities('shenyu'))).toEqual([
        'traffic.rules[1].ip[1]: must be an IPv4 range ending in /8, /16, /24 or /32: ShenYu matches a client IP by its text, not by range, got "10.0.0.0/12"',
        'traffic.rules[2].ip[1]: must be an IPv4 range ending in /8, /16, /24 or /32: ShenYu matches a client IP by its text, not by range, got "2001:db8::/32"',
      ])
    })

    it('refuses exactly the ranges the ShenYu gateway would refuse at publish', () => {
      const accepts = gatewayCapabilities('shenyu').cidr!.accepts
      for (const cidr of ['10.0.0.0/8', '10.9.0.0/16', '10.9.1.0/24', '10.9.1.2/32', '10.0.0.0/12', '10.9.0.0/20', '0.0.0.0/0', '10.9.1.2/31', '2001:db8::/32', '::1/128']) {
        const renders = (() => {
          try {
            ruleCondition({kind: 'cidr', cidrs: [cidr]})
            return true
          } catch {
            return false
          }
        })()
        expect(accepts(cidr), cidr).toBe(renders)
      }
      expect(accepts('10.0.0.0/12')).toBe(false)
      expect(accepts('10.9.0.0/16')).toBe(true)
    })

    it('leaves every range to gateways that match by range', () => {
      expect(ruleSupportErrors({...shenyu, gateway: {type: 'sandbox'}} as typeof shenyu, gatewayCapabilities('sandbox'))).toEqual([])
    })
  })
})
