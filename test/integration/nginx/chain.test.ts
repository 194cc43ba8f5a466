// A release's tag flowing along a call path (issue 16): edge → api → data, each behind its own real
// nginx. The edge splits by weight on the uid cookie and tags its gray requests; api and data route
// by the tag alone (src/core/release/tag-route.ts). Checked per request: a user's whole path is v2
// or v1, never mixed, v2 exactly for the users decide() and the cohort library put in gray.
// A second chain checks what a release driver's test will use: the samples deployed by the demo's
// deploy command, a failure injected in the middle one, their /metrics as the scrape source reads them.
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {parseExposition} from '../../../src/adapters/metrics/scrape/exposition.js'
import {cohortPolicy} from '../../../src/cohort/index.js'
import {decide} from '../../../src/core/policy/decide.js'
import {toDocument} from '../../../src/core/policy/document.js'
import type {Policy} from '../../../src/core/ports.js'
import {plainRoutePolicy, tagRoutePolicy} from '../../../src/core/release/tag-route.js'
import {demoScript} from '../../../src/demo/services.js'
import {entryPolicy, pathVersion, startChain, type Chain, type ChainService, type PathAnswer} from '../../support/chain.js'
import {nginxBinary} from '../../support/nginx.js'

const USERS = 2000
const TAG = {header: 'X-Gray-Tag', value: 'rel-chain-7'}
// a run's cohort seed (docs/cohort.md), as a release's entry run would have one
const SEED = '5eed0c1a'
const hasNginx = nginxBinary() !== null
// 2,000 users through three nginx and six sample upstreams on a loaded two-core machine: far from what it needs
const PHASE_TIMEOUT_MS = 600_000

describe.skipIf(!hasNginx)('a three-service chain on three real nginx: the tag carries gray along the path', () => {
  let chain: Chain
  const users = Array.from({length: USERS}, (_, i) => `user-${i}`)
  let seq = 0
  const at = () => ({runId: 'chain-release', lastSeq: seq++})
  const grayAt = new Map<number, Set<string>>()

  beforeAll(async () => {
    chain = await startChain({tag: TAG})
  }, 120_000)

  afterAll(async () => {
    await chain?.stop()
  }, 120_000)

  const published = new Map<ChainService, Policy>()
  async function publish(service: ChainService, policy: Policy): Promise<void> {
    const applied = await chain.hops[service].gateway.publish(policy)
    expect(applied).toEqual({revision: policy.revision, mode: policy.mode, weightBp: policy.weightBp})
    published.set(service, policy)
  }

  const tagRoute = (service: ChainService) => tagRoutePolicy(chain.hops[service].route, TAG, at())
  const plain = (service: ChainService) => plainRoutePolicy(chain.hops[service].route, at())
  const entry = (weightBp: number) => entryPolicy(chain.hops.edge, TAG, {revision: `chain-edge-${seq++}`, weightBp, seed: SEED})

  /** every user once through the edge, with the uid cookie and whatever else `headers` adds */
  async function walk(headers: (user: string) => Record<string, string> = () => ({})): Promise<PathAnswer[]> {
    return chain.many(USERS, (i) => chain.get('edge', {cookie: `uid=${users[i]}`, ...headers(users[i] as string)}))
  }

  /** users whose path was not one whole version with the tag exactly where the version is v2 */
  function broken(answers: PathAnswer[]): Array<{user: string; answer: PathAnswer}> {
    return answers
      .map((answer, i) => ({user: users[i] as string, answer}))
      .filter(({answer}) => {
        const version = pathVersion(answer)
        if (version === null) return true
        if (answer.hops.map((h) => h.service).join('>') !== 'edge>api>data') return true
        return answer.hops.some((h) => h.tag !== (version === 'v2' ? TAG.value : null))
      })
  }

  async function expectAllV1(headers?: (user: string) => Record<string, string>): Promise<void> {
    const answers = await walk(headers)
    expect(broken(answers).slice(0, 5)).toEqual([])
    expect(answers.filter((a) => pathVersion(a) !== 'v1').length).toBe(0)
  }

  test('all three plain: every user meets v1 at all three hops, with no tag', async () => {
    await expectAllV1()
  }, PHASE_TIMEOUT_MS)

  test('api and data route by the tag (published downstream first), edge still plain: still all v1', async () => {
    await publish('data', tagRoute('data'))
    await publish('api', tagRoute('api'))
    await expectAllV1()
    // the downstream routing itself, asked directly: the tag takes api and data to v2, another value or none to v1
    const direct = async (headers: Record<string, string>) => (await chain.get('api', headers)).hops.map((h) => `${h.service}:${h.version}`)
    expect(await direct({[TAG.header]: TAG.value})).toEqual(['api:v2', 'data:v2'])
    expect(await direct({[TAG.header]: 'rel-chain-8'})).toEqual(['api:v1', 'data:v1'])
    expect(await direct({})).toEqual(['api:v1', 'data:v1'])
  }, PHASE_TIMEOUT_MS)

  test.each([1000, 5000])(
    'edge at %i bp: every path is all v2 or all v1, all v2 exactly for the users decide() and the cohort library predict',
    async (weightBp) => {
      const policy = entry(weightBp)
      await publish('edge', policy)
      const answers = await walk()
      expect(broken(answers).slice(0, 5)).toEqual([])

      const library = cohortPolicy(toDocument(policy))
      const mismatches = users.filter((user, i) => {
        const predicted = decide(policy, {headers: {}, cookies: {uid: user}, query: {}, ip: '127.0.0.1'}).target
        const fromLibrary = library.decide({cookies: {uid: user}}).cohort
        const seen = pathVersion(answers[i] as PathAnswer) === 'v2' ? 'gray' : 'stable'
        return predicted !== seen || fromLibrary !== seen
      })
      expect(mismatches.slice(0, 10)).toEqual([])

      const gray = new Set(users.filter((_, i) => pathVersion(answers[i] as PathAnswer) === 'v2'))
      const share = (gray.size / USERS) * 100
      expect(Math.abs(share - weightBp / 100)).toBeLessThanOrEqual(3)
      grayAt.set(weightBp, gray)
    },
    PHASE_TIMEOUT_MS,
  )

  test('users in gray at 10% are still in gray at 50%, at all three hops', () => {
    const ten = grayAt.get(1000)
    const fifty = grayAt.get(5000)
    expect(ten?.size).toBeGreaterThan(0)
    expect([...(ten ?? [])].filter((u) => !fifty?.has(u))).toEqual([])
  })

  test('a stable user who forges the tag at the edge meets v1 at all three hops; a gray user who forges another value keeps the real tag', async () => {
    const fifty = grayAt.get(5000) ?? new Set<string>()
    expect(fifty.size).toBeGreaterThan(0)
    const answers = await walk((user) => ({[TAG.header]: fifty.has(user) ? 'forged' : TAG.value}))
    expect(broken(answers).slice(0, 5)).toEqual([])
    const wrong = users.filter((user, i) => (pathVersion(answers[i] as PathAnswer) === 'v2') !== fifty.has(user))
    expect(wrong.slice(0, 10)).toEqual([])
  }, PHASE_TIMEOUT_MS)

  test('rollback, entry first: edge at weight 0 sends everyone to v1 though api and data still route by the tag', async () => {
    await publish('edge', entry(0))
    // nginx itself says api and data still serve the tag routes published before the split
    for (const service of ['api', 'data'] as const) {
      const route = published.get(service)
      expect(route?.rules).toEqual([{kind: 'equals', field: {source: 'header', name: TAG.header}, value: TAG.value}])
      expect(await chain.hops[service].gateway.readBack()).toEqual({revision: route?.revision, mode: 'split', weightBp: 0})
    }
    await expectAllV1()
    // nor can a client forge its way to v2 while downstream still routes by the tag
    await expectAllV1(() => ({[TAG.header]: TAG.value}))
  }, PHASE_TIMEOUT_MS)

  test('then api and data back to plain: still all v1', async () => {
    await publish('api', plain('api'))
    await publish('data', plain('data'))
    await expectAllV1(() => ({[TAG.header]: TAG.value}))
  }, PHASE_TIMEOUT_MS)

  test('and all three plain: all v1', async () => {
    await publish('edge', plain('edge'))
    await expectAllV1(() => ({[TAG.header]: TAG.value}))
    await expectAllV1()
  }, PHASE_TIMEOUT_MS)
})

describe.skipIf(!hasNginx)('the chain\'s samples as a release driver meets them: deployed by the demo\'s deploy command, failing on demand, counted for the scrape source', () => {
  const FEW = 400
  let chain: Chain
  const users = Array.from({length: FEW}, (_, i) => `few-${i}`)
  let seq = 0
  let edge: Policy

  beforeAll(async () => {
    chain = await startChain({tag: TAG, versions: {stable: 'v1', gray: 'v1'}})
    for (const service of ['data', 'api'] as const) await chain.hops[service].gateway.publish(tagRoutePolicy(chain.hops[service].route, TAG, {runId: 'driver', lastSeq: seq++}))
    edge = entryPolicy(chain.hops.edge, TAG, {revision: `driver-edge-${seq++}`, weightBp: 5000, seed: SEED})
    await chain.hops.edge.gateway.publish(edge)
  }, 120_000)

  afterAll(async () => {
    await chain?.stop()
  }, 120_000)

  const inGray = (user: string) => decide(edge, {headers: {}, cookies: {uid: user}, query: {}, ip: '127.0.0.1'}).target === 'gray'
  const walk = () => chain.many(FEW, (i) => chain.get('edge', {cookie: `uid=${users[i]}`}))

  test('gray hosts on v1 serve everyone v1; after templates/demo/deploy.mjs deploys v2 to them, downstream first, gray users meet v2 at all three hops', async () => {
    const before = await walk()
    expect(before.filter((a) => pathVersion(a) !== 'v1')).toEqual([])
    // the tag still reaches exactly the gray hops, which run v1 for now
    expect(before.filter((a, i) => a.hops.some((h) => h.tag !== (inGray(users[i] as string) ? TAG.value : null))).length).toBe(0)

    for (const service of ['data', 'api', 'edge'] as const) {
      const host = chain.hops[service].route.gray[0] as {address: string}
      await execa(process.execPath, [demoScript('deploy.mjs'), host.address, 'v2'])
      expect(chain.hops[service].samples.gray.version()).toBe('v2')
    }
    const after = await walk()
    const wrong = users.filter((user, i) => pathVersion(after[i] as PathAnswer) !== (inGray(user) ? 'v2' : 'v1'))
    expect(wrong.slice(0, 10)).toEqual([])
    expect(users.some(inGray) && users.some((u) => !inGray(u))).toBe(true)
  }, PHASE_TIMEOUT_MS)

  test('a failure injected in api v2 fails exactly the gray users\' requests, named in the path, and the samples count it by version and code', async () => {
    chain.hops.api.samples.gray.fail(true)
    const answers = await walk()
    users.forEach((user, i) => {
      const answer = answers[i] as PathAnswer
      if (inGray(user)) {
        expect({status: answer.status, hops: answer.hops.map((h) => `${h.service}:${h.version}`)}).toEqual({status: 502, hops: ['edge:v2', 'api:v2']})
        expect(answer.error).toMatch(/api v2: injected failure/)
      } else {
        expect(pathVersion(answer)).toBe('v1')
      }
    })
    const gray = users.filter(inGray).length
    // read as the scrape source reads a host's /metrics
    const counted = async (service: ChainService, code: string) => {
      const text = await (await fetch(`http://${chain.hops[service].route.gray[0]?.address}/metrics`)).text()
      const series = [...parseExposition(text).values()].filter((sample) => sample.name === 'http_requests_total' && sample.labels.version === 'v2' && sample.labels.code === code)
      return series.map((sample) => ({service: sample.labels.service, value: sample.value}))
    }
    expect(await counted('api', '500')).toEqual([{service: 'api', value: gray}])
    expect(await counted('edge', '502')).toEqual([{service: 'edge', value: gray}])

    chain.hops.api.samples.gray.fail(false)
    const healed = await walk()
    expect(users.filter((user, i) => pathVersion(healed[i] as PathAnswer) !== (inGray(user) ? 'v2' : 'v1')).slice(0, 10)).toEqual([])
  }, PHASE_TIMEOUT_MS)
})
