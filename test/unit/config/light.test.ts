// The light read `gray status` uses must agree with the full loader on every
// field it returns, and step aside (null) whenever it is unsure.
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {readStatusConfig} from '../../../src/core/config/light.js'
import {loadConfig} from '../../../src/core/config/load.js'

const env = {APISIX_ADMIN_KEY: 'k-123456', SENTRY_TOKEN: 't-123456', GRAY_WEBHOOK: 'http://127.0.0.1:9/h', PROM_TOKEN: 'p-123456'}
const base = 'hosts: {stable: [127.0.0.1:9], gray: [127.0.0.1:10]}\ndeploy: {command: ["true"]}\n'
const variants: Record<string, string> = {
  'nginx.yaml': `service: web.api\n${base}gateway: {type: nginx, include: conf/gray.conf}\nstate: {dir: ../state}\n`,
  'nginx-custom.yaml': `service: web\n${base}gateway: {type: nginx, include: /etc/nginx/g.conf, variable: up, test: [nginx, -t, -c, x], reload: [systemctl, reload, nginx]}\n`,
  'apisix.yaml': `service: web\n${base}gateway: {type: apisix, url: "http://127.0.0.1:9180", routeId: 7, key: "\${APISIX_ADMIN_KEY}"}\n`,
  'http.yaml': `service: web\n${base}gateway: {type: http, url: "https://cp.local/policies/{service}", token: "\${PROM_TOKEN}"}\n`,
  'haproxy.yaml': `service: web.api\n${base}gateway: {type: haproxy, fragment: conf/gray.cfg, socket: run/admin.sock}\n`,
  'haproxy-custom.yaml': `service: web\n${base}gateway: {type: haproxy, fragment: /etc/haproxy/g.cfg, socket: "ipv4@127.0.0.1:9999", bind: ["0.0.0.0:80"], test: [haproxy, -c, -f, /etc/haproxy/g.cfg], reload: [kill, -USR2, "1"]}\n`,
  'sandbox-defaults.yaml': `service: web\n${base}gateway: {type: sandbox}\n`,
}
const dir = mkdtempSync(path.join(tmpdir(), 'gray-light-'))
for (const [name, text] of Object.entries(variants)) writeFileSync(path.join(dir, name), text)
const files = [
  ...readdirSync('test/fixtures/configs/good').map((f) => path.resolve('test/fixtures/configs/good', f)),
  ...Object.keys(variants).map((f) => path.join(dir, f)),
]

describe('the light config read of gray status', () => {
  it.each(files)('%s: agrees with the full loader', async (file) => {
    const full = await loadConfig(file, env)
    const light = await readStatusConfig(file, env)
    expect(light).not.toBeNull()
    expect(light).toEqual({file: full.file, service: full.service, state: full.state, gateway: full.gateway})
  })

  it.each([
    ['an unknown gateway key', 'gateway: {type: sandbox, admn: 127.0.0.1:1}'],
    ['an unknown gateway type', 'gateway: {type: envoy}'],
    ['a haproxy bind with a quote', 'gateway: {type: haproxy, fragment: g.cfg, bind: ["1.2.3.4:80 \\"x"]}'],
    ['a service climbing out of the state dir', 'gateway: {type: sandbox}\nservice: a..b'],
    ['an unset variable', 'gateway: {type: http, url: "${NOPE_NOT_SET}"}'],
  ])('steps aside on %s', async (_what, yaml) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gray-light-'))
    const file = path.join(dir, 'gray.yaml')
    writeFileSync(file, yaml.includes('service:') ? yaml : `service: shop\n${yaml}\n`)
    expect(await readStatusConfig(file, {})).toBeNull()
  })
})
