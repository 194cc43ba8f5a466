// The credential fields of the gateways added with fleets, HAProxy, BFE and ShenYu
// are secrets by field, whatever the variable's name (see src/core/config/secrets.ts).
import {describe, expect, it} from 'vitest'

import {fillEnv} from '../../../src/core/config/env.js'
import {configSecrets} from '../../../src/core/config/secrets.js'

function secretsOf(doc: unknown, env: Record<string, string>) {
  const {value, filled} = fillEnv(doc, env)
  return configSecrets(value, filled, env)
}

describe('secrets of gateway fields', () => {
  it('a ShenYu password and every instance credential are secrets, whatever the variable is called', () => {
    const env = {SHENYU_PW: 'pw-of-shenyu-1', EDGE_B: 'edge-bearer-2', PLAIN_ONE: 'instance-pw-3'}
    const {secrets, problems} = secretsOf(
      {
        gateway: {
          type: 'shenyu',
          url: 'http://127.0.0.1:9095',
          password: '${SHENYU_PW}',
          instances: [{url: 'http://a:1'}, {url: 'http://b:1', password: '${PLAIN_ONE}'}],
        },
      },
      env,
    )
    expect(problems).toEqual([])
    expect(secrets).toEqual(expect.arrayContaining(['pw-of-shenyu-1', 'instance-pw-3']))
    const http = secretsOf({gateway: {type: 'http', url: 'http://x', instances: [{token: '${EDGE_B}'}]}}, env)
    expect(http.secrets).toContain('edge-bearer-2')
  })

  it('a BFE API token (mode api), at the top or per instance, is a secret whatever the variable is called, and a literal one too', () => {
    const env = {BFE_T: 'bfe-token-Kq27Xw9', OTHER: 'bfe-token-second-4'}
    const {secrets, problems} = secretsOf(
      {gateway: {type: 'bfe', mode: 'api', url: 'http://127.0.0.1:8183', token: '${BFE_T}', product: 'shop', bfeClusters: ['c1'], instances: [{name: 'a'}, {name: 'b', token: '${OTHER}'}]}},
      env,
    )
    expect(problems).toEqual([])
    expect(secrets).toEqual(expect.arrayContaining(['bfe-token-Kq27Xw9', 'bfe-token-second-4']))
    expect(secretsOf({gateway: {type: 'bfe', mode: 'api', url: 'http://x', token: 'literal-bfe-token-1', product: 'shop', bfeClusters: ['c1']}}, {}).secrets).toContain('literal-bfe-token-1')
  })

  it("a ${VAR} in an instance's reload argv is a secret, and user:password in an instance URL too", () => {
    const env = {HOP: 'ssh-hop-secret-9'}
    const {secrets} = secretsOf(
      {gateway: {type: 'nginx', include: '/x', instances: [{reload: ['ssh', '-o', 'ProxyJump=${HOP}', 'n1', 'nginx -s reload']}, {include: '/y'}]}},
      env,
    )
    expect(secrets).toContain('ssh-hop-secret-9')
    const url = secretsOf({gateway: {type: 'http', url: 'http://x', instances: [{url: 'http://ops:hunter2hunter2@edge-2:80/'}]}}, {})
    expect(url.secrets).toContain('hunter2hunter2')
  })

  it('a ShenYu password too short to mask is refused', () => {
    const {problems} = secretsOf({gateway: {type: 'shenyu', url: 'http://x', password: 'abc'}}, {})
    expect(problems.join('\n')).toMatch(/gateway\.password.*at least 8 characters/)
  })
})
