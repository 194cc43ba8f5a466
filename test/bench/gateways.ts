// Figures for the nginx and HAProxy gateways on a real nginx and a real HAProxy,
// side by side on the same upstreams and the same load: split accuracy,
// stickiness, requests lost under weight changes, publish-to-confirmed
// latency, and how long after a rollback publish starts the last new request
// reaches gray. nginx is the baseline the HAProxy ratios are against. Prints nothing.
import {fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {NginxGateway} from '../../src/adapters/gateways/nginx/index.js'
import {inGray} from '../../src/core/policy/hash.js'
import {HAPROXY_XXH32} from '../../src/core/policy/split.js'
import type {Gateway} from '../../src/core/ports.js'
import {gatewayFor as haproxyGateway, haproxyFor} from '../integration/haproxy/support.js'
import {Client, cohortServer, policy, RULES, SERVICE, userServer, VARIABLE} from '../integration/nginx/support.js'
import {haproxyBinary} from '../support/haproxy.js'
import {nginxBinary, startNginx} from '../support/nginx.js'

const USERS = 20_000
const ROLLBACKS = 10

export async function benchGateways(): Promise<Record<string, unknown>> {
  if (!nginxBinary()) return {nginx: 'not installed; skipped'}
  const stable = await cohortServer('stable', 'web-1')
  const gray = await cohortServer('gray', 'web-9')
  const make = (weightBp: number, rules = RULES) => policy([stable.host], [gray.host], {weightBp, rules})
  const initial = make(0, [])
  const nginx = await startNginx({
    includeName: 'checkout.conf',
    include: (path) => new NginxGateway({type: 'nginx', include: path, variable: VARIABLE, test: ['true'], reload: ['true']}, SERVICE).render(initial),
    servers: userServer,
  })
  const gateway = new NginxGateway({type: 'nginx', include: nginx.includePath, variable: VARIABLE, test: nginx.testArgv, reload: nginx.reloadArgv}, SERVICE)
  const client = new Client(nginx.baseUrl)
  const figures: Record<string, unknown> = {}
  try {
    const base = {
      split: await splitAccuracy(gateway, client, make, inGray),
      load: await steadyLoad(gateway, nginx.baseUrl, make),
      rollback: await rollbackLatency(gateway, client, make),
    }
    figures.nginx = base
    if (!haproxyBinary()) {
      figures.haproxy = 'not installed; skipped'
      return figures
    }
    const haproxy = await haproxyFor(initial)
    const hclient = new Client(haproxy.baseUrl)
    try {
      const hgateway = haproxyGateway(haproxy)
      const h = {
        split: await splitAccuracy(hgateway, hclient, make, HAPROXY_XXH32.inGray),
        load: await steadyLoad(hgateway, haproxy.baseUrl, make),
        rollback: await rollbackLatency(hgateway, hclient, make),
      }
      figures.haproxy = h
      const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`
      figures['haproxy / nginx (same hosts, same load)'] = {
        publishConfirmedMedian: ratio(h.load.publishConfirmedMs.median, base.load.publishConfirmedMs.median),
        lastGrayAfterRollbackMedian: ratio(Math.max(h.rollback.lastGrayRequestAfterPublishStartMs.median, 0.1), Math.max(base.rollback.lastGrayRequestAfterPublishStartMs.median, 0.1)),
        'haproxy last gray request after rollback (target < 50 ms)': `${h.rollback.lastGrayRequestAfterPublishStartMs.worst} ms worst`,
      }
    } finally {
      hclient.close()
      await haproxy.stop()
    }
    return figures
  } finally {
    client.close()
    await nginx.stop()
    await Promise.all([stable.close(), gray.close()])
  }
}

type Make = (weightBp: number, rules?: typeof RULES) => ReturnType<typeof policy>

async function splitAccuracy(gateway: Gateway, client: Client, make: Make, predicts: (key: string, weightBp: number) => boolean): Promise<Record<string, unknown>> {
  const users = Array.from({length: USERS}, (_, i) => `u${i}`)
  const cohorts = new Map<number, Set<string>>()
  const figures: Record<string, unknown> = {users: USERS}
  for (const weightBp of [100, 1000, 5000]) {
    await gateway.publish(make(weightBp, []))
    const answers = await client.many(USERS, (i) => client.get('/', {cookie: `uid=${users[i]}`}), 64)
    const grayUsers = new Set(users.filter((_, i) => answers[i]?.cohort === 'gray'))
    cohorts.set(weightBp, grayUsers)
    figures[`${weightBp / 100}%`] = {
      observedPercent: round((grayUsers.size / USERS) * 100, 3),
      errorPoints: round(Math.abs((grayUsers.size / USERS) * 100 - weightBp / 100), 3),
      differFromPrediction: users.filter((u) => grayUsers.has(u) !== predicts(u, weightBp)).length,
    }
  }
  const [one, ten, fifty] = [100, 1000, 5000].map((w) => cohorts.get(w) as Set<string>) as [Set<string>, Set<string>, Set<string>]
  figures.stickiness = {
    in1NotIn10: [...one].filter((u) => !ten.has(u)).length,
    in1NotIn50: [...one].filter((u) => !fifty.has(u)).length,
    in10NotIn50: [...ten].filter((u) => !fifty.has(u)).length,
  }
  return figures
}

async function steadyLoad(gateway: Gateway, baseUrl: string, make: Make) {
  const script = fileURLToPath(new URL('../integration/nginx/load-worker.mjs', import.meta.url))
  const child = fork(script, [`${baseUrl}/`, '8'], {stdio: ['ignore', 'ignore', 'ignore', 'ipc']})
  await new Promise<void>((resolve) => child.on('message', (m: {type: string}) => m.type === 'ready' && resolve()))
  const publishMs: number[] = []
  for (const weightBp of [100, 500, 1000, 2500, 5000, 7500, 10_000, 5000, 2500, 1000, 100, 1000, 5000, 9000, 9999, 10_000, 2000, 300, 6000, 8000, 0]) {
    const started = performance.now()
    await gateway.publish(make(weightBp, weightBp === 0 ? [] : RULES))
    publishMs.push(performance.now() - started)
  }
  const stats = await new Promise<Record<string, unknown>>((resolve) => {
    child.on('message', (m: {type: string; stats?: Record<string, unknown>}) => m.type === 'stats' && resolve(m.stats ?? {}))
    child.send('stop')
  })
  return {
    publishes: publishMs.length,
    requests: stats.ok,
    failed: stats.failed,
    resentAfterIdleClose: stats.resent,
    failures: stats.failures,
    publishConfirmedMs: {median: round(median(publishMs), 1), worst: round(Math.max(...publishMs), 1)},
  }
}

/** from the start of a rollback publish to the send time of the last request that still reached gray */
async function rollbackLatency(gateway: Gateway, client: Client, make: Make) {
  const lastGrayMs: number[] = []
  const confirmedMs: number[] = []
  for (let round_ = 0; round_ < ROLLBACKS; round_++) {
    await gateway.publish(make(5000))
    const sent: {at: number; cohort: string}[] = []
    let running = true
    let n = 0
    const loops = Array.from({length: 8}, async () => {
      while (running) {
        const at = performance.now()
        const answer = await client.get('/', {cookie: `uid=r${n++ % 2000}`})
        sent.push({at, cohort: answer.cohort})
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const start = performance.now()
    await gateway.publish(make(0, []))
    confirmedMs.push(performance.now() - start)
    await new Promise((resolve) => setTimeout(resolve, 300))
    running = false
    await Promise.all(loops)
    const lastGray = Math.max(start, ...sent.filter((s) => s.cohort === 'gray').map((s) => s.at))
    lastGrayMs.push(lastGray - start)
  }
  return {
    rounds: ROLLBACKS,
    lastGrayRequestAfterPublishStartMs: {median: round(median(lastGrayMs), 1), worst: round(Math.max(...lastGrayMs), 1)},
    publishConfirmedMs: {median: round(median(confirmedMs), 1), worst: round(Math.max(...confirmedMs), 1)},
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits
}
