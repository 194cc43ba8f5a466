// A config reader for a configuration released in gray by a run of kind config
// (docs/config-release.md). The read order:
//   1. read the policy key, the gray key and the official key in one etcd transaction (one revision);
//   2. no policy: the official value;
//   3. the policy puts this user in gray (gray-release/cohort, exactly as gray decides): the gray value;
//   4. otherwise the official value.
// Use it as a library:   import {readConfig} from './reader.mjs'
// or from a shell:       node reader.mjs --endpoint http://127.0.0.1:2379 --key /app/feature.json uid=u42 header:X-Gray=1
// It needs Node 20 and the gray-release package (npm install gray-release).
/* global fetch */
import {cohortPolicy} from 'gray-release/cohort'

const b64 = (text) => Buffer.from(text).toString('base64')

/** The three keys in one read-only transaction: the value a reader picks never mixes two revisions. */
async function readKeys(endpoint, keys, {token, timeoutMs = 3000} = {}) {
  const response = await fetch(`${endpoint.replace(/\/+$/, '')}/v3/kv/txn`, {
    method: 'POST',
    headers: {'content-type': 'application/json', ...(token ? {authorization: token} : {})},
    body: JSON.stringify({success: keys.map((key) => ({request_range: {key: b64(key)}}))}),
    signal: AbortSignal.timeout(timeoutMs),
  })
  if (!response.ok) throw new Error(`etcd at ${endpoint} answered HTTP ${response.status}`)
  const answer = await response.json()
  return (answer.responses ?? []).map((r) => {
    const kv = r.response_range?.kvs?.[0]
    return kv ? Buffer.from(kv.value ?? '', 'base64').toString('utf8') : null
  })
}

/**
 * Which value `attributes` (uid, headers, cookies, query, ip: see docs/cohort.md) reads now.
 * Returns {value, from: 'gray' | 'official', key, revision, cohort}; revision is the policy's, null without one.
 */
export async function readConfig({endpoint, key, grayKey = `${key}.gray`, policyKey = `${key}.gray-policy`, token}, attributes = {}) {
  const [policyText, grayValue, officialValue] = await readKeys(endpoint, [policyKey, grayKey, key], {token})
  const official = {value: officialValue, from: 'official', key, revision: null, cohort: null}
  if (policyText === null) return official
  const policy = cohortPolicy(JSON.parse(policyText))
  const decision = policy.decide(attributes)
  // a gray user reads the gray value while there is one; a policy without its value sends no one there
  if (decision.cohort === 'gray' && grayValue !== null) return {value: grayValue, from: 'gray', key: grayKey, revision: policy.revision, cohort: decision}
  return {...official, revision: policy.revision, cohort: decision}
}

/** `uid=u42 header:X-Gray=1 cookie:device=d1 query:build=beta ip=10.9.1.2` as the library's attributes */
export function attributesFrom(pairs) {
  const attributes = {headers: {}, cookies: {}, query: {}}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new Error(`"${pair}": must be NAME=VALUE`)
    const name = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    const [kind, field] = name.includes(':') ? name.split(/:(.*)/) : [name, '']
    if (kind === 'uid' || kind === 'ip') attributes[kind] = value
    else if (kind === 'header') attributes.headers[field] = value
    else if (kind === 'cookie') attributes.cookies[field] = value
    else if (kind === 'query') attributes.query[field] = value
    else throw new Error(`"${pair}": write uid=, ip=, header:NAME=, cookie:NAME= or query:NAME=`)
  }
  return attributes
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const option = (name) => {
    const i = args.indexOf(name)
    if (i < 0 || i + 1 >= args.length) return undefined
    return args.splice(i, 2)[1]
  }
  const endpoint = option('--endpoint') ?? 'http://127.0.0.1:2379'
  const key = option('--key')
  if (!key) {
    console.error('usage: node reader.mjs --endpoint URL --key KEY [uid=U] [header:NAME=V] [cookie:NAME=V] [query:NAME=V] [ip=ADDR]')
    process.exit(2)
  }
  const result = await readConfig({endpoint, key, grayKey: option('--gray-key'), policyKey: option('--policy-key'), token: process.env.ETCD_TOKEN}, attributesFrom(args))
  console.log(JSON.stringify({from: result.from, key: result.key, revision: result.revision, value: result.value}))
}
