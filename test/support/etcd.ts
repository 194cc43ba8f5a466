// A private, real etcd (Debian's etcd-server, /usr/bin/etcd) for tests: its data dir in a temp
// dir, client and peer URLs on 127.0.0.1 at free ports, stopped after. Tests talk to it through
// its JSON gRPC gateway, as gray does.
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openSync} from 'node:fs'

import {freePort, waitUntil} from './prometheus.js'

export const ETCD_BIN = process.env.GRAY_TEST_ETCD ?? '/usr/bin/etcd'

/** why the etcd tests cannot run here, or null when they can */
export function whyNoEtcd(): string | null {
  return existsSync(ETCD_BIN) ? null : `etcd is not installed (no ${ETCD_BIN}): run .ci/deps.sh as root, or apt-get install etcd-server`
}

/** skip only where etcd is missing and CI is not set: CI must never skip these silently */
export const skipWithoutEtcd = !process.env.CI && whyNoEtcd() !== null
if (skipWithoutEtcd) console.warn(`skipping etcd tests: ${whyNoEtcd()}`)

export interface EtcdServer {
  /** the client URL, http://127.0.0.1:PORT */
  readonly url: string
  readonly dir: string
  get(key: string): Promise<{value: string; modRevision: string} | null>
  put(key: string, value: string): Promise<void>
  stop(): Promise<void>
  log(): Promise<string>
}

const b64 = (text: string) => Buffer.from(text).toString('base64')

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000)})
  if (!response.ok) throw new Error(`etcd ${url}: HTTP ${response.status} ${await response.text()}`)
  return (await response.json()) as Record<string, unknown>
}

export async function startEtcd(): Promise<EtcdServer> {
  const problem = whyNoEtcd()
  if (problem) throw new Error(problem)
  const dir = await mkdtemp(join(tmpdir(), 'gray-etcd-'))
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const logFile = join(dir, 'etcd.log')
  const out = openSync(logFile, 'a')
  const child: ChildProcess = spawn(
    ETCD_BIN,
    [
      '--name', 'gray-test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `gray-test=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ],
    {stdio: ['ignore', out, out]},
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const log = () => readFile(logFile, 'utf8').catch(() => '')
  try {
    await waitUntil(
      'etcd to be healthy',
      async () => {
        if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${(await log()).slice(-2000)}`)
        const r = await fetch(`${url}/health`, {signal: AbortSignal.timeout(1000)})
        return r.ok && ((await r.json()) as {health?: string}).health === 'true' ? true : undefined
      },
      30_000,
    )
  } catch (error) {
    child.kill('SIGKILL')
    await rm(dir, {recursive: true, force: true})
    throw error
  }
  return {
    url,
    dir,
    async get(key) {
      const answer = (await post(`${url}/v3/kv/range`, {key: b64(key)})) as {kvs?: Array<{value?: string; mod_revision: string}>}
      const kv = answer.kvs?.[0]
      return kv ? {value: Buffer.from(kv.value ?? '', 'base64').toString('utf8'), modRevision: kv.mod_revision} : null
    },
    async put(key, value) {
      await post(`${url}/v3/kv/put`, {key: b64(key), value: b64(value)})
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await rm(dir, {recursive: true, force: true})
    },
    log,
  }
}
