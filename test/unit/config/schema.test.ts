import {describe, expect, it} from 'vitest'
import {parseDuration} from '../../../src/core/config/values.js'
import {parse, problemsOf} from './fixtures.js'

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1.5h', 5_400_000],
    ['1d', 86_400_000],
  ])('%s is %d ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected)
  })

  it.each(['5', '', 'soon', '5 minutes', '-5m', '5mm', 'm'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it('refuses bare numbers and zero where zero makes no sense, allows a zero bake', () => {
    expect(problemsOf({deploy: {command: ['x'], timeout: 60}})[0]).toMatch(/^deploy\.timeout: must be a duration above zero .*, got 60$/)
    expect(problemsOf({deploy: {command: ['x'], timeout: '0s'}})[0]).toMatch(/got "0s"$/)
    expect(parse({steps: [{weight: 5, bake: '0s'}]}).steps[0]?.bakeMs).toBe(0)
    expect(parse({gates: {interval: '500ms', window: '1h', checks: [{name: 'a', source: 'm', query: 'q', max: 1}]}, metrics: {m: {type: 'scrape'}}}).gates)
      .toMatchObject({intervalMs: 500, windowMs: 3_600_000, checks: [{windowMs: 3_600_000}]})
  })
})

describe('steps', () => {
  it('a step bakes 5m by default; a pause step without a bake bakes nothing (it waits at once), with one it keeps it', () => {
    const steps = parse({steps: [{weight: 5}, {weight: 50, pause: true}, {weight: 60, pause: true, bake: '2m'}, {weight: 100, bake: '0s'}]}).steps
    expect(steps.map((s) => [s.bakeMs, s.pause])).toEqual([
      [300_000, false],
      [0, true],
      [120_000, true],
      [0, false],
    ])
  })
})

describe('hosts', () => {
  it('takes host:port, {name, address} and bracketed IPv6', () => {
    const config = parse({hosts: {stable: ['web-1.example:80', {name: 'web-2', address: '10.0.0.22:8080'}], gray: ['[2001:db8::1]:8080']}})
    expect(config.hosts).toEqual({
      stable: [
        {name: 'web-1.example:80', address: 'web-1.example:80'},
        {name: 'web-2', address: '10.0.0.22:8080'},
      ],
      gray: [{name: '[2001:db8::1]:8080', address: '[2001:db8::1]:8080'}],
    })
  })

  it.each(['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '300.0.0.1:80', 'web 1:80', '2001:db8::1:80', 'http://web:80'])('refuses %j', (address) => {
    expect(problemsOf({hosts: {stable: ['10.0.0.21:8080'], gray: [address]}})[0]).toContain('hosts.gray[0]: must be a host written host:port')
  })

  it('refuses a host object without address, or with an unknown key', () => {
    expect(problemsOf({hosts: {stable: ['10.0.0.21:8080'], gray: [{name: 'g'}]}})).toEqual(['hosts.gray[0].address: must be set, got nothing'])
    expect(problemsOf({hosts: {stable: ['10.0.0.21:8080'], gray: [{name: 'g', address: 'g:1', adress: 'x'}]}})[0]).toBe(
      'hosts.gray[0].adress: must be a known key (did you mean "address"?), got an unknown key',
    )
  })
})

describe('traffic', () => {
  it('turns every rule form into a Rule', () => {
    const config = parse({
      traffic: {
        sticky: 'query:uid',
        rules: [
          {header: 'X-Gray', equals: '1'},
          {cookie: 'device', in: ['a', 'b']},
          {query: 'beta', prefix: 'yes'},
          {header: 'X-Uid', range: [-5, 5]},
          {ip: ['10.9.0.0/16', '2001:db8::/32', '192.168.1.7/32']},
        ],
      },
    })
    expect(config.traffic).toEqual({
      sticky: {kind: 'query', name: 'uid'},
      rules: [
        {kind: 'equals', field: {source: 'header', name: 'X-Gray'}, value: '1'},
        {kind: 'in', field: {source: 'cookie', name: 'device'}, values: ['a', 'b']},
        {kind: 'prefix', field: {source: 'query', name: 'beta'}, value: 'yes'},
        {kind: 'range', field: {source: 'header', name: 'X-Uid'}, min: -5, max: 5},
        {kind: 'cidr', cidrs: ['10.9.0.0/16', '2001:db8::/32', '192.168.1.7/32']},
      ],
      rotate: true,
    })
  })

  it('rotate: on unless set to false, and only true or false', () => {
    expect(parse({}).traffic.rotate).toBe(true)
    expect(parse({traffic: {rotate: false}}).traffic.rotate).toBe(false)
    expect(problemsOf({traffic: {rotate: 'no'}})[0]).toMatch(/^traffic\.rotate: must be true or false/)
  })

  it.each([
    ['ip', {kind: 'ip'}],
    ['cookie:uid', {kind: 'cookie', name: 'uid'}],
    ['header:X-User-Id', {kind: 'header', name: 'X-User-Id'}],
  ])('sticky %s', (sticky, expected) => {
    expect(parse({traffic: {sticky}}).traffic.sticky).toEqual(expected)
  })

  it.each([
    [{header: 'X'}, 'traffic.rules[0]: must have exactly one of equals, in, prefix, range, got none'],
    [{header: 'X', equals: 'a', prefix: 'b'}, 'traffic.rules[0]: must have exactly one of equals, in, prefix, range, got equals and prefix'],
    [{ip: ['10.0.0.0/8'], header: 'X'}, 'traffic.rules[0]: a rule with ip must have no other keys, got header'],
    [{ip: ['10.0.0.1']}, 'traffic.rules[0].ip[0]: must be a CIDR like 10.9.0.0/16 or 2001:db8::/32, got "10.0.0.1"'],
    [{ip: ['2001:db8::/129']}, 'traffic.rules[0].ip[0]: must be a CIDR like 10.9.0.0/16 or 2001:db8::/32, got "2001:db8::/129"'],
    [{ip: '10.0.0.0/8'}, 'traffic.rules[0].ip: must be a list of CIDRs like [10.9.0.0/16], got "10.0.0.0/8"'],
    [{header: 'X', range: [1.5, 3]}, 'traffic.rules[0].range[0]: must be a whole number, got 1.5'],
    [{header: 'X', range: [1, 2, 3]}, 'traffic.rules[0].range: must be [lo, hi], two whole numbers, got [1, 2, 3]'],
    [{header: 'X', in: []}, 'traffic.rules[0].in: must list at least one value, got none'],
    [{header: 'X Y', equals: '1'}, 'traffic.rules[0].header: must be a name of letters, digits, _ . -, got "X Y"'],
    [{header: 'X', matches: '1'}, 'traffic.rules[0].matches: must be a known key: header, cookie, query, equals, in, prefix, range, ip, got an unknown key'],
  ])('refuses rule %j', (rule, message) => {
    expect(problemsOf({traffic: {rules: [rule]}})[0]).toBe(message)
  })
})

describe('steps', () => {
  it('takes weights with two decimals, pauses and host counts or shares', () => {
    const config = parse({steps: [{weight: 0.25, bake: '1m'}, {weight: 12.5, hosts: '50%'}, {weight: 50, pause: true, hosts: 2}, {weight: 100}]})
    expect(config.steps).toEqual([
      {weight: 0.25, bakeMs: 60_000, pause: false},
      {weight: 12.5, bakeMs: 300_000, pause: false, hosts: {percent: 50}},
      {weight: 50, bakeMs: 0, pause: true, hosts: {count: 2}},
      {weight: 100, bakeMs: 300_000, pause: false},
    ])
  })

  it.each([
    [{weight: -1}, 'steps[0].weight: must be 0..100, got -1'],
    [{weight: '10%'}, 'steps[0].weight: must be 0..100 (a number), got "10%"'],
    [{weight: 1, hosts: '0%'}, 'steps[0].hosts: must be a count of stable hosts like 2, or a share of them like "25%" (at most 100%), got "0%"'],
    [{weight: 1, hosts: 1.5}, 'steps[0].hosts: must be a count of stable hosts of at least 1, got 1.5'],
    [{weight: 1, pause: 'yes'}, 'steps[0].pause: must be true or false, got "yes"'],
    [{bake: '1m'}, 'steps[0].weight: must be set, got nothing'],
  ])('refuses step %j', (step, message) => {
    expect(problemsOf({steps: [step]})[0]).toBe(message)
  })

  it('refuses an empty list of steps', () => {
    expect(problemsOf({steps: []})[0]).toBe('steps: must list at least one step, got none')
  })
})

describe('gateway, deploy, metrics, gates', () => {
  it('parses apisix and http gateways', () => {
    expect(parse({gateway: {type: 'apisix', url: 'http://127.0.0.1:9180', routeId: 7, key: 'k-123456'}}).gateway).toEqual({
      type: 'apisix',
      url: 'http://127.0.0.1:9180',
      routeId: '7',
      key: 'k-123456',
    })
    expect(parse({gateway: {type: 'http', url: 'https://gw.example/api'}}).gateway).toEqual({type: 'http', url: 'https://gw.example/api'})
  })

  it('names the known gateway keys and types', () => {
    expect(problemsOf({gateway: {type: 'nginx', include: '/x', listen: '1'}})[0]).toBe(
      'gateway.listen: must be a known key: type, include, variable, test, reload, instances, got an unknown key',
    )
    expect(problemsOf({gateway: {include: '/x'}})[0]).toBe('gateway.type: must be one of sandbox, nginx, apisix, http, haproxy, bfe, shenyu, got nothing')
    expect(problemsOf({gateway: {type: 'nginx', include: '/x', variable: '$up'}})[0]).toBe(
      'gateway.variable: must be an nginx variable name without $, got "$up"',
    )
  })

  it('refuses deploy commands that are not argv', () => {
    expect(problemsOf({deploy: {command: []}})[0]).toMatch(/^deploy\.command: must be an argv list .* with at least the program, got none$/)
    expect(problemsOf({deploy: {command: ['deploy', 5]}})[0]).toBe('deploy.command[1]: must be a string (quote numbers), got 5')
    expect(problemsOf({deploy: {type: 'ansible', command: ['x']}})[0]).toBe('deploy.type: must be one of command, got "ansible"')
    expect(problemsOf({deploy: {command: ['x'], health: {url: 'http://{host.address}/', expect: 700}}})[0]).toBe(
      'deploy.health.expect: must be an HTTP status 100..599, got 700',
    )
  })

  it('checks the limits and the shape of a check', () => {
    const gates = (check: Record<string, unknown>) => ({metrics: {m: {type: 'scrape'}}, gates: {checks: [{name: 'c', source: 'm', ...check}]}})
    expect(problemsOf(gates({query: 'q', min: 2, max: 1}))[0]).toBe('gates.checks[0].min: must be at most max (1), got 2')
    expect(problemsOf(gates({query: 'q', errors: 'e', total: 't', max: 1}))[0]).toBe(
      'gates.checks[0].query: must not be set with errors/total: a check is a ratio or a value, not both, got "q"',
    )
    expect(problemsOf(gates({max: 1}))[0]).toBe('gates.checks[0]: must have errors and total (a ratio check) or query (a value check), got neither')
    expect(problemsOf(gates({query: 'q', max: 1, baseline: {maxIncrease: 0}}))[0]).toBe(
      'gates.checks[0].baseline.maxIncrease: must be a number above 0, got 0',
    )
    expect(problemsOf(gates({query: 'q', max: 1, release: 'v'}))[0]).toMatch(/^gates\.checks\[0\]\.release: must be left out: only sentry sources read a release/)
    expect(problemsOf({metrics: {m: {type: 'scrape'}}, gates: {checks: []}})[0]).toBe('gates.checks: must list at least one check, got none')
  })

  it('takes judge: sequential with alpha and overdispersion, and histogram checks judged sequentially', () => {
    const gates = (check: Record<string, unknown>, type = 'prometheus') => ({metrics: {m: {type, url: 'http://127.0.0.1:9090'}}, gates: {checks: [{name: 'c', source: 'm', ...check}]}})
    expect(parse(gates({errors: 'e', total: 't', judge: 'sequential', alpha: 0.05, baseline: {maxIncrease: 1.2}})).gates?.checks[0]).toMatchObject({judge: 'sequential', alpha: 0.05})
    expect(problemsOf(gates({errors: 'e', total: 't', judge: 'sequential'}))[0]).toBe('gates.checks[0]: must set a limit, max or min, got neither')
    expect(problemsOf(gates({errors: 'e', total: 't', max: 1, judge: 'bayes'}))[0]).toBe('gates.checks[0].judge: must be one of threshold, sequential, got "bayes"')
    expect(problemsOf(gates({errors: 'e', total: 't', max: 1, judge: 'sequential', alpha: 0}))[0]).toBe('gates.checks[0].alpha: must be a number between 0 and 0.5, got 0')
    expect(problemsOf(gates({errors: 'e', total: 't', max: 1, judge: 'sequential', overdispersion: 0.5}))[0]).toBe('gates.checks[0].overdispersion: must be a number of at least 1, got 0.5')
    const histogram = parse(gates({histogram: 'sum by (le) (h_bucket)', baseline: {maxIncrease: 1.25}}))
    expect(histogram.gates?.checks[0]).toMatchObject({histogram: 'sum by (le) (h_bucket)', judge: 'sequential'})
    expect(problemsOf(gates({histogram: 'h'}))[0]).toBe('gates.checks[0].baseline: must be set for a histogram check: its buckets are compared with the stable version, got nothing')
    expect(problemsOf(gates({histogram: 'h', query: 'q', baseline: {maxIncrease: 1.25}}))[0]).toMatch(/^gates\.checks\[0\]\.query: must not be set with histogram/)
    expect(problemsOf({metrics: {m: {type: 'scrape'}}, gates: {checks: [{name: 'c', source: 'm', histogram: 'h', baseline: {maxIncrease: 1.25}}]}})[0]).toMatch(
      /^gates\.checks\[0\]\.histogram: must be left out: only prometheus sources read histogram buckets, m is scrape/,
    )
  })

  it('refuses bad metric source names and a non-mapping metrics', () => {
    expect(problemsOf({metrics: {'a b': {type: 'scrape'}}})[0]).toBe('metrics["a b"]: must be a source name of letters, digits, _ . -, got "a b"')
    expect(problemsOf({metrics: [{type: 'scrape'}]})[0]).toBe('metrics: must be a mapping of source names to sources, got a list of 1')
  })
})
