// The gateway registry: every gateway gray builds, validates, splits and offers
// in `gray init` is what its own registration says, and nothing else.
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {createGateway} from '../../../src/adapters/factory.js'
import {gatewayCapabilities} from '../../../src/adapters/gateways/capabilities.js'
import {GATEWAYS, findGateway} from '../../../src/adapters/gateways/registry.js'
import {loadConfig} from '../../../src/core/config/load.js'
import {BFE_MURMUR3, HAPROXY_XXH32, SPLIT_CLIENTS, splitFor} from '../../../src/core/policy/split.js'
import {INIT_TEMPLATES, renderTemplate, TEMPLATE_SUMMARIES} from '../../../src/services/init.js'

const env = {APISIX_ADMIN_KEY: 'k-123456789', SHENYU_PASSWORD: 's-123456789', BFE_TOKEN: 'b-123456789', GRAY_WEBHOOK: 'http://127.0.0.1:9/hook'}

async function templateConfig(name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-registry-'))
  const file = path.join(dir, 'gray.yaml')
  writeFileSync(file, renderTemplate(await readFile(path.resolve('templates/init', `${name}.yaml`), 'utf8'), {service: 'shop', schema: './s.json'}))
  return loadConfig(file, env)
}

describe('the gateway registry', () => {
  it('names each type once', () => {
    const types = GATEWAYS.map((g) => g.type)
    expect(new Set(types).size).toBe(types.length)
    expect(findGateway('envoy')).toBeUndefined()
    expect(findGateway('__proto__')).toBeUndefined()
  })

  it('offers exactly the templates in templates/init, each summarised, in the order of their ranks', () => {
    const files = readdirSync('templates/init').map((f) => f.replace(/\.yaml$/, ''))
    expect([...INIT_TEMPLATES].sort()).toEqual(files.sort())
    for (const name of INIT_TEMPLATES) expect(TEMPLATE_SUMMARIES[name]).toMatch(/\S/)
    const ranks = INIT_TEMPLATES.map((name) => GATEWAYS.flatMap((g) => g.init ?? []).find((t) => t.name === name)!.rank)
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
  })

  it.each(GATEWAYS.flatMap((g) => (g.init ?? []).map((t) => [t.name, g.type] as const)))(
    'template %s configures the %s gateway, and the factory builds that gateway with the rules and keys it declares',
    async (name, type) => {
      const config = await templateConfig(name)
      expect(config.gateway.type).toBe(type)
      const gateway = await createGateway(config)
      try {
        expect(gateway.type).toBe(type)
        // a mode may refuse a tag the type can carry (BFE's API server has no header endpoint); the rest is the type's
        const {tag: _tag, tagReason: _reason, ...declared} = gatewayCapabilities(type)
        const {tag: _built, tagReason: _why, ...built} = gateway.capabilities()
        expect(built).toEqual(declared)
      } finally {
        await gateway.close?.()
      }
    },
  )

  it('splits each gateway by the hash its registration names', () => {
    const expected = {xxh32: HAPROXY_XXH32, murmur3: BFE_MURMUR3, none: SPLIT_CLIENTS}
    for (const g of GATEWAYS) expect(splitFor(g.type)).toBe(expected[g.hash ?? 'none'])
  })
})
