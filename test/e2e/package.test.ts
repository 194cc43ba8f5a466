// The package as npm would ship it: `npm pack`, the tarball installed into an
// empty project outside this repository (so nothing resolves from the repo's own
// node_modules), then the installed `gray` binary and the `gray-release/cohort`
// export used as a user would. Dependencies come from npm's cache when they are
// there (--prefer-offline), else from the registry as `.ci/run`'s `npm ci` does.
import {execa} from 'execa'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {PACKAGE_NAME} from '../../src/services/init.js'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {name: string; bin: Record<string, string>}
const ENV = {CI: '1', NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false'}

let root: string
let app: string
let packed: string[]

async function gray(args: string[], timeout = 120_000) {
  const bin = path.join(app, 'node_modules', '.bin', 'gray')
  return execa(bin, args, {cwd: app, env: ENV, reject: false, timeout, stdin: 'ignore'})
}

async function node(file: string) {
  return execa(process.execPath, [file], {cwd: app, env: ENV, reject: false, timeout: 30_000})
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'gray-pack-'))
  // `npm test` has just built dist/; --ignore-scripts keeps prepack from rebuilding it under other tests
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {env: ENV, timeout: 60_000})
  const [info] = JSON.parse(pack.stdout) as [{filename: string; files: {path: string}[]}]
  packed = info.files.map((f) => f.path)
  app = path.join(root, 'app')
  mkdirSync(app)
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({name: 'app', version: '1.0.0', private: true, type: 'module'}))
  await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', path.join(root, info.filename)], {cwd: app, env: ENV, timeout: 240_000})
}, 300_000)

afterAll(() => {
  if (root) rmSync(root, {recursive: true, force: true})
})

describe(`the packed ${PACKAGE_NAME} package`, () => {
  it('is named as init and the docs say, ships the binary `gray`, and holds what a run needs and nothing of the repo', () => {
    expect(pkg.name).toBe(PACKAGE_NAME)
    expect(pkg.bin).toEqual({gray: './bin/run.js'})
    for (const file of ['bin/run.js', 'oclif.manifest.json', 'dist/commands/demo.js', 'dist/cohort/index.js', 'dist/cohort/index.d.ts', 'templates/demo/service.mjs', 'templates/init/sandbox.yaml', 'schema/gray.schema.json', 'schema/policy.schema.json']) {
      expect(packed).toContain(file)
    }
    expect(packed.filter((f) => /^(src|test|node_modules|\.ci)\//.test(f) || f.endsWith('.map') || f === 'bin/dev.js')).toEqual([])
  })

  it('`gray --help` lists the commands', async () => {
    const r = await gray(['--help'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\$ gray \[COMMAND\]/)
    expect(r.stdout).toMatch(/^ {2}demo /m)
    expect(r.stdout).toMatch(/^ {2}cohort /m)
  })

  it('`gray demo --json` completes a whole rollout from the installed files', async () => {
    const r = await gray(['demo', '--json'], 180_000)
    expect(r.exitCode, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout) as {run: {state: string; hosts: {version: string}[]}}
    expect(doc.run.state).toBe('completed')
    expect(doc.run.hosts.map((h) => h.version)).toEqual(['v2', 'v2', 'v2'])
  }, 200_000)

  it("`gray init` points the $schema comment at the project's node_modules copy", async () => {
    const r = await gray(['init', '--template', 'sandbox', '--service', 'shop', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {schema: string}).schema).toBe(`./node_modules/${PACKAGE_NAME}/schema/gray.schema.json`)
    expect(readFileSync(path.join(app, 'gray.yaml'), 'utf8').split('\n')[0]).toBe(`# yaml-language-server: $schema=./node_modules/${PACKAGE_NAME}/schema/gray.schema.json`)
    const valid = await gray(['validate'])
    expect(valid.exitCode, valid.stderr).toBe(0)
  })

  it(`\`${PACKAGE_NAME}/cohort\` imports (ESM and require) and decides; deep imports are not exported`, async () => {
    const doc = {
      apiVersion: 'gray.dev/v1',
      kind: 'GrayPolicy',
      service: 'shop',
      revision: 'r1',
      mode: 'split',
      weightBasisPoints: 10_000,
      sticky: 'cookie:uid',
      rules: [],
      tag: {header: 'X-Gray-Tag', value: 'gray'},
      upstreams: {stable: [{name: 'a', address: '127.0.0.1:1'}], gray: [{name: 'b', address: '127.0.0.1:2'}]},
    }
    writeFileSync(
      path.join(app, 'esm.mjs'),
      `import {cohortPolicy} from '${PACKAGE_NAME}/cohort'
const d = cohortPolicy(${JSON.stringify(doc)}).decide({uid: 'u42'})
console.log(JSON.stringify(d))
try { await import('${PACKAGE_NAME}/dist/core/policy/hash.js'); console.log('deep: imported') } catch (e) { console.log('deep: ' + e.code) }
`,
    )
    writeFileSync(path.join(app, 'cjs.cjs'), `const {decideCohort} = require('${PACKAGE_NAME}/cohort')\nconsole.log(decideCohort(${JSON.stringify({...doc, mode: 'plain'})}, {uid: 'u42'}).cohort)\n`)
    const esm = await node('esm.mjs')
    expect(esm.exitCode, esm.stderr).toBe(0)
    const [decision, deep] = esm.stdout.split('\n')
    expect(JSON.parse(decision as string)).toMatchObject({cohort: 'gray', tag: {header: 'X-Gray-Tag', value: 'gray'}, revision: 'r1', why: 'weight'})
    expect(deep).toBe('deep: ERR_PACKAGE_PATH_NOT_EXPORTED')
    const cjs = await node('cjs.cjs')
    expect(cjs.exitCode, cjs.stderr).toBe(0)
    expect(cjs.stdout.trim()).toBe('stable')
  })

  it('ships types a TypeScript service checks against', async () => {
    writeFileSync(
      path.join(app, 'service.ts'),
      `import {cohortPolicy, type CohortDecision, type PolicyDocument} from '${PACKAGE_NAME}/cohort'
declare const doc: PolicyDocument
const decision: CohortDecision = cohortPolicy(doc, {gateway: 'haproxy'}).decide({uid: 'u1', headers: {'x-gray': '1'}, ip: '10.0.0.1'})
const cohort: 'gray' | 'stable' = decision.cohort
// @ts-expect-error a gateway that splits per request is not a CohortGateway
cohortPolicy(doc, {gateway: 'apisix'})
// @ts-expect-error uid is text
cohortPolicy(doc).decide({uid: 42})
export {cohort}
`,
    )
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots: [path.resolve('node_modules/@types')]},
        files: ['service.ts'],
      }),
    )
    const tsc = await execa(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {cwd: app, reject: false, timeout: 120_000})
    expect(tsc.exitCode, tsc.stdout + tsc.stderr).toBe(0)
  }, 150_000)
})
