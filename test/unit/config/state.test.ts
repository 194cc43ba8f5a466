// `state:` in gray.yaml: local stays the default and its shape; postgres needs a URL, which is a secret.
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {configFromObject} from '../../../src/core/config/load.js'
import {InvalidConfigError} from '../../../src/core/config/problems.js'

const minimal = {
  service: 'shop',
  hosts: {stable: ['10.0.0.21:8080'], gray: ['10.0.0.11:8080']},
  deploy: {command: ['deploy', '{host.name}', '{version}']},
  gateway: {type: 'sandbox'},
}
const file = path.resolve('/tmp/gray-state-config/gray.yaml')

function problems(input: unknown, env: Record<string, string> = {}): string[] {
  try {
    configFromObject(input, file, env)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError)
    return (error as InvalidConfigError).problems
  }
  throw new Error('the config was accepted')
}

describe('state backend config', () => {
  it('defaults to the local journal directory, shaped as before', () => {
    expect(configFromObject(minimal, file, {}).state).toStrictEqual({dir: path.join(path.dirname(file), '.gray')})
    expect(configFromObject({...minimal, state: {backend: 'local'}}, file, {}).state).toStrictEqual({dir: path.join(path.dirname(file), '.gray')})
  })

  it('takes postgres with its URL from ${GRAY_DATABASE_URL}', () => {
    const url = 'postgres://gray:s3cret-pass@db.internal:5432/gray'
    const config = configFromObject({...minimal, state: {backend: 'postgres', url: '${GRAY_DATABASE_URL}'}}, file, {GRAY_DATABASE_URL: url})
    expect(config.state).toStrictEqual({backend: 'postgres', url, dir: path.join(path.dirname(file), '.gray')})
  })

  it('refuses postgres without a URL, a URL without postgres, and a URL that is not PostgreSQL’s, without echoing it', () => {
    expect(problems({...minimal, state: {backend: 'postgres'}}).join('\n')).toMatch(/state\.url.*backend postgres needs url/)
    expect(problems({...minimal, state: {url: 'postgres://db/gray'}}).join('\n')).toMatch(/state\.url.*only with backend: postgres/)
    expect(problems({...minimal, state: {backend: 'mysql'}}).join('\n')).toMatch(/state\.backend.*local .* or postgres/)
    const secret = 'hunter2-secret-value'
    const refused = problems({...minimal, state: {backend: 'postgres', url: '${GRAY_DATABASE_URL}'}}, {GRAY_DATABASE_URL: `mysql://u:${secret}@db/x`}).join('\n')
    expect(refused).toMatch(/state\.url.*PostgreSQL URL/)
    expect(refused).not.toContain(secret)
  })
})
