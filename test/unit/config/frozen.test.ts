// A run's frozen config: the loaded config with each ${VAR} as written, a hash,
// the refusal of a secret written into gray.yaml, the difference of two forms,
// and the form filled again from another machine's environment.
import {afterEach, describe, expect, it} from 'vitest'

import {changesLine, configHash, diffConfigs, escapeLiteral, freezeConfig, frozenFormOf, literalSecretProblems, resolveFrozen} from '../../../src/core/config/frozen.js'
import {fillEnv} from '../../../src/core/config/env.js'
import {configFromObject} from '../../../src/core/config/load.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'
import {ConfigError, ExitCode} from '../../../src/core/errors.js'
import {clearRegisteredSecrets, secretValues} from '../../../src/core/redact.js'

const ENV = {
  EDGE_TOKEN: 'edge-token-Aa11Bb22',
  DEPLOY_PW: 'deploy-pw-Cc33',
  HOOK_PATH: 'hookpathDd44Ee55',
  GRAY_HOST: '10.0.0.12:8080',
  BAKE: '2m',
  TAG: 'tag-value-Ff66',
  KEYFILE: 'keys/id_gray',
}

function document(extra: Record<string, unknown> = {}) {
  return {
    service: 'shop',
    hosts: {stable: ['10.0.0.21:8080'], gray: ['${GRAY_HOST}']},
    deploy: {command: ['deploy', '{host.name}', '{version}', '--password=${DEPLOY_PW}'], ssh: {identityFile: '${KEYFILE}'}},
    gateway: {type: 'http', url: 'http://127.0.0.1:9/policies/{service}', token: '${EDGE_TOKEN}'},
    traffic: {sticky: 'cookie:uid', tag: {header: 'X-Gray-Tag', value: '${TAG}'}, rules: [{header: 'X-Beta', equals: '$${NOT_A_VAR}'}]},
    steps: [{weight: 10, bake: '${BAKE}'}, {weight: 100, bake: '1s'}],
    metrics: {prom: {type: 'prometheus', url: 'http://127.0.0.1:9090'}},
    gates: {checks: [{name: 'errors', source: 'prom', query: 'errors', max: 1}]},
    notify: [{webhook: 'https://hooks.example/services/${HOOK_PATH}'}],
    ...extra,
  }
}

const load = (doc: unknown = document(), env: Record<string, string> = ENV) => configFromObject(doc, '/srv/ci/gray.yaml', env)

afterEach(() => clearRegisteredSecrets())

describe('the reference form of a loaded config', () => {
  it('keeps every ${VAR} as written, applies the defaults, and leaves out the file and the state', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- reading a form's fields by name is the point
    const form = frozenFormOf(load()) as Record<string, any>
    expect(form.gateway.token).toBe('${EDGE_TOKEN}')
    expect(form.deploy.command).toEqual(['deploy', '{host.name}', '{version}', '--password=${DEPLOY_PW}'])
    // a path resolved beside gray.yaml keeps the reference at its end
    expect(form.deploy.ssh.identityFile).toBe('/srv/ci/${KEYFILE}')
    // a host written as one string becomes {name, address}: both keep the reference
    expect(form.hosts.gray).toEqual([{name: '${GRAY_HOST}', address: '${GRAY_HOST}'}])
    expect(form.traffic.tag.value).toBe('${TAG}')
    expect(form.notify[0].webhook).toBe('https://hooks.example/services/${HOOK_PATH}')
    // a literal ${…} of gray.yaml ($${…}) stays a literal
    expect(form.traffic.rules[0].value).toBe('$${NOT_A_VAR}')
    // a duration from the environment is no secret: it is frozen as the value it had
    expect(form.steps[0].bakeMs).toBe(120_000)
    // defaults are in it: what the run drives with, whichever gray version reads it
    expect(form.deploy.concurrency).toBeTypeOf('number')
    expect(form.gates.intervalMs).toBeTypeOf('number')
    expect(form).not.toHaveProperty('file')
    expect(form).not.toHaveProperty('state')
    const json = JSON.stringify(form)
    for (const [name, value] of Object.entries(ENV)) if (name !== 'BAKE') expect(json).not.toContain(value)
  })

  it('fills back to the config it was made from', () => {
    const config = load()
    const {file: _file, state: _state, ...rest} = config
    expect(resolveFrozen(frozenFormOf(config), ENV)).toEqual(JSON.parse(JSON.stringify(rest)))
  })

  it('writes every literal so that filling gives it back', () => {
    for (const text of ['${X}', '$${X}', 'a${b', 'plain', '$', '${}', '$$${Y}z', '{version}', 'x}${', '${A}${B}']) {
      const {value, problems} = fillEnv(escapeLiteral(text), {})
      expect(problems, text).toEqual([])
      expect(value, text).toBe(text)
    }
  })

  it('has one hash for one config whatever the order of its keys, and another when a value changes', () => {
    const form = frozenFormOf(load())
    const reordered = Object.fromEntries(Object.entries(form).reverse())
    expect(configHash(reordered)).toBe(configHash(form))
    expect(configHash(form)).toMatch(/^[0-9a-f]{64}$/)
    const other = frozenFormOf(load(document({steps: [{weight: 10, bake: '${BAKE}'}, {weight: 100, bake: '2s'}]})))
    expect(configHash(other)).not.toBe(configHash(form))
    // a secret's value is not in the form, so a rotated one is the same config
    expect(configHash(frozenFormOf(load(document(), {...ENV, EDGE_TOKEN: 'rotated-token-Zz99'})))).toBe(configHash(form))
  })
})

describe('freezing a config for a new run', () => {
  it('freezes one whose secrets are all references', () => {
    const config = load()
    const frozen = freezeConfig(config)
    expect(frozen.hash).toBe(configHash(frozen.config))
  })

  it('refuses a credential written into gray.yaml itself, naming the field and ${VAR}', () => {
    const config = load(document({gateway: {type: 'http', url: 'http://127.0.0.1:9/p/{service}', token: 'literal-token-Gg77'}}))
    let error: unknown
    try {
      freezeConfig(config)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidConfigError)
    expect((error as InvalidConfigError).exitCode).toBe(ExitCode.usage)
    expect((error as InvalidConfigError).message).toMatch(/^gateway\.token: must take its secret from the environment, written "\$\{VAR\}"/)
    expect((error as InvalidConfigError).message).not.toContain('literal-token-Gg77')
  })

  it('refuses a URL whose user or password is written into gray.yaml (both are secrets), and accepts them written as ${VAR}', () => {
    const literal = load(document({metrics: {prom: {type: 'prometheus', url: 'http://grafana:pw-Hh88Ii99@127.0.0.1:9090'}}}))
    expect(literalSecretProblems(frozenFormOf(literal), secretValues({}))).toEqual([expect.stringMatching(/^metrics\.prom\.url: must take its secret/)])
    clearRegisteredSecrets()
    const user = load(document({metrics: {prom: {type: 'prometheus', url: 'http://grafana:${PROM_PW}@127.0.0.1:9090'}}}), {...ENV, PROM_PW: 'pw-Hh88Ii99'})
    expect(literalSecretProblems(frozenFormOf(user), secretValues({}))).toEqual([expect.stringMatching(/^metrics\.prom\.url: /)])
    clearRegisteredSecrets()
    const referenced = load(document({metrics: {prom: {type: 'prometheus', url: 'http://${PROM_USER}:${PROM_PW}@127.0.0.1:9090'}}}), {...ENV, PROM_USER: 'grafana', PROM_PW: 'pw-Hh88Ii99'})
    expect(literalSecretProblems(frozenFormOf(referenced), secretValues({}))).toEqual([])
  })
})

describe('the difference of two frozen configs', () => {
  it('names each changed key as gray.yaml does, durations as durations, secrets only as references', () => {
    const before = frozenFormOf(load())
    const after = frozenFormOf(
      load(
        document({
          steps: [{weight: 10, bake: '${BAKE}'}, {weight: 100, bake: '30s'}],
          gateway: {type: 'http', url: 'http://127.0.0.1:9/policies/{service}', token: '${OTHER_TOKEN}'},
        }),
        {...ENV, OTHER_TOKEN: 'other-token-Jj00Kk11'},
      ),
    )
    const changes = diffConfigs(before, after)
    expect(changes).toEqual([
      {key: 'gateway.token', from: '"${EDGE_TOKEN}"', to: '"${OTHER_TOKEN}"'},
      {key: 'steps[1].bake', from: '1s', to: '30s'},
    ])
    expect(changesLine(changes)).toBe('gateway.token: "${EDGE_TOKEN}" → "${OTHER_TOKEN}"; steps[1].bake: 1s → 30s')
    expect(JSON.stringify(changes)).not.toContain('other-token-Jj00Kk11')
  })

  it('names keys added and removed, and says how many more there are past the first few', () => {
    const before = frozenFormOf(load())
    const {notify: _n, ...withoutNotify} = document()
    const after = frozenFormOf(load({...withoutNotify, hooks: {afterDeploy: ['a', 'b', 'c', 'd', 'e', 'f', 'g']}}))
    const changes = diffConfigs(before, after)
    expect(changes).toEqual([
      {key: 'notify[0]', from: expect.stringContaining('"webhook":"https://hooks.example/services/${HOOK_PATH}"'), to: '(none)'},
      {key: 'hooks', from: '(none)', to: expect.stringContaining('"afterDeploy":["a","b","c","d","e","f","g"]')},
    ])
    expect(changesLine(changes, 1)).toMatch(/^notify\[0\]: \{.*\} → \(none\); and 1 more$/)
  })
})

describe('filling a frozen config on another machine', () => {
  it('takes each secret from this machine\'s environment', () => {
    const form = frozenFormOf(load())
    const here = {...ENV, EDGE_TOKEN: 'token-of-this-machine-Ll22'}
    const config = resolveFrozen(form, here)
    expect(config.gateway).toMatchObject({token: 'token-of-this-machine-Ll22'})
    expect(config.traffic.rules[0]).toMatchObject({value: '${NOT_A_VAR}'})
    expect(config.deploy.ssh?.identityFile).toBe('/srv/ci/keys/id_gray')
    // registered for masking, as gray.yaml's secrets are
    expect(secretValues({})).toContain('token-of-this-machine-Ll22')
  })

  it('refuses (exit 2) a variable unset here, naming it and the field that reads it', () => {
    const form = frozenFormOf(load())
    const {EDGE_TOKEN: _t, TAG: _g, ...missing} = ENV
    let error: unknown
    try {
      resolveFrozen(form, missing)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(ExitCode.usage)
    expect((error as ConfigError).message).toBe("the run's config reads environment variable EDGE_TOKEN (and TAG) for gateway.token, and it is unset here; nothing was done")
    expect((error as ConfigError).hint).toBe('set EDGE_TOKEN, TAG as where the run was started, then retry')
  })
})
