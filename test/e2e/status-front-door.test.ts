// `gray status` has two ways in: the fast path (no oclif, the light config read) and
// the oclif command, taken for any flag the fast path does not know (here -y). Both
// go through one front door (src/ui/process.ts), so they answer alike.
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {run} from '../support/cli.js'

const SECRET = 'pw-front-door-9431'

function project(config: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gray-front-door-'))
  writeFileSync(path.join(dir, 'gray.yaml'), config)
  return dir
}

const base = 'service: shop\nhosts: {stable: [127.0.0.1:9101], gray: [127.0.0.1:9201]}\ndeploy: {command: ["true"]}\n'

describe('gray status, fast or through oclif', () => {
  it.each([
    ['no gray.yaml', null],
    // a gateway block the light read is unsure of: both take the full loader, which names the problem
    ['a gateway key with a typo', `${base}gateway: {type: sandbox, admn: 127.0.0.1:9}\n`],
    ['a problem beside a secret', `${base}gateway: {type: http, url: "http://deployer:\${FRONT_DOOR_PW}@127.0.0.1:9/{service}", tokn: "\${FRONT_DOOR_PW}"}\n`],
  ])('%s: the same error, exit code and --json document', async (_what, config) => {
    const dir = config === null ? mkdtempSync(path.join(tmpdir(), 'gray-front-door-')) : project(config)
    const env = {FRONT_DOOR_PW: SECRET}
    for (const json of [[], ['--json']]) {
      const fast = await run(['status', ...json], {cwd: dir, env})
      const oclif = await run(['status', '-y', ...json], {cwd: dir, env})
      expect(fast.exitCode).toBe(2)
      expect(oclif.exitCode).toBe(fast.exitCode)
      expect(oclif.stderr).toBe(fast.stderr)
      expect(oclif.stdout).toBe(fast.stdout)
      expect(fast.stderr).toMatch(/^gray: /)
      expect(`${fast.stdout}${fast.stderr}`).not.toContain(SECRET)
      if (json.length > 0) expect(JSON.parse(fast.stdout).error.exitCode).toBe(2)
    }
  })
})
