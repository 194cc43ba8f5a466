// A private, real PostgreSQL (Debian's binaries under /usr/lib/postgresql/N/bin)
// for tests and the bench: initdb in a temp dir, the unix socket in that dir and
// TCP on 127.0.0.1 at a free port, fsync off, stopped after. PostgreSQL refuses
// to run as root, so as root (CI) the server runs as the `postgres` system user
// (runuser) with the temp dir given to it; as anyone else it runs as that user.
import {execFile, spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {appendFile, chmod, chown, mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {promisify} from 'node:util'
import pg from 'pg'

import {waitFor} from './process.js'
import {freePort} from './prometheus.js'

const run = promisify(execFile)

/** the newest PostgreSQL's bin directory, or null when none is installed */
export function postgresBin(): string | null {
  if (process.env.GRAY_TEST_PG_BIN) return process.env.GRAY_TEST_PG_BIN
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

const asRoot = process.getuid?.() === 0
const postgresUser = asRoot ? systemUser('postgres') : null

function systemUser(name: string): {uid: number; gid: number} | null {
  const uid = spawnSync('id', ['-u', name], {encoding: 'utf8'})
  const gid = spawnSync('id', ['-g', name], {encoding: 'utf8'})
  if (uid.status !== 0 || gid.status !== 0) return null
  return {uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim())}
}

/** why the postgres tests cannot run here, or null when they can */
export function whyNoPostgres(): string | null {
  if (!postgresBin()) return 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run .ci/deps.sh as root, or apt-get install postgresql'
  if (asRoot && !postgresUser) return 'running as root but there is no `postgres` system user to run the server as'
  return null
}

/** skip only where PostgreSQL is missing and CI is not set: CI must never skip these silently */
export const skipWithoutPostgres = !process.env.CI && whyNoPostgres() !== null
if (skipWithoutPostgres) console.warn(`skipping PostgreSQL tests: ${whyNoPostgres()}`)

export interface PostgresServer {
  /** superuser URL of the `postgres` database */
  readonly url: string
  readonly port: number
  readonly dir: string
  /** a fresh, empty database on this server; its URL */
  createDatabase(): Promise<string>
  /** runs one statement as the superuser */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[], database?: string): Promise<T[]>
  /** pg_ctl stop -m fast; the data stays, start() brings the same server back on the same port */
  stop(): Promise<void>
  /** kill -9 of the whole server (the postmaster frozen first so it forks no child the kill misses); returns once every one of its processes is gone */
  kill(): Promise<void>
  /** pg_ctl start; after a kill -9 it waits out the old server's shared memory */
  start(): Promise<void>
  /** stops the server and removes its directory */
  destroy(): Promise<void>
  log(): Promise<string>
}

let databases = 0

/** the pids whose parent is `parent` (the fourth field of /proc/PID/stat, after the command in parentheses) */
async function childrenOf(parent: number): Promise<number[]> {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) children.push(Number(entry))
  }
  return children
}

/** whether a process exists and is not a zombie (./process.ts's alive() counts a zombie, which a reparented child can stay for a while) */
async function notZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
}

export interface StartOptions {
  /** fsync and synchronous commit on, as in production (the bench); off by default, tests need no durability */
  durable?: boolean
}

export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  const problem = whyNoPostgres()
  if (problem) throw new Error(problem)
  const bin = postgresBin() as string
  const dir = await mkdtemp(join(tmpdir(), 'gray-pg-'))
  const data = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  if (postgresUser) {
    await chown(dir, postgresUser.uid, postgresUser.gid)
    await chmod(dir, 0o700)
  }

  const as = (file: string, args: string[]) =>
    postgresUser ? run('runuser', ['-u', 'postgres', '--', join(bin, file), ...args], {cwd: dir}) : run(join(bin, file), args, {cwd: dir})

  await as('initdb', ['-D', data, '-U', 'gray', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
  const port = await freePort()
  const settings = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    ...(options.durable ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']),
    'max_connections = 200',
    `log_min_messages = warning`,
  ]
  await appendFile(join(data, 'postgresql.conf'), `\n# gray tests\n${settings.join('\n')}\n`)
  if (postgresUser) await chown(join(data, 'postgresql.conf'), postgresUser.uid, postgresUser.gid)

  const url = `postgres://gray@127.0.0.1:${port}/postgres`
  let running = false
  const start = async () => {
    // after a kill -9 a new postmaster refuses while any old process still holds the shared memory;
    // kill() waits for them, and a refusal here is retried a few times before it is the test's failure
    for (let attempt = 1; ; attempt++) {
      try {
        await as('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '120', 'start'])
        break
      } catch (error) {
        if (attempt >= 4) throw error
        await delay(1_000 * attempt)
      }
    }
    running = true
  }
  const kill = async () => {
    const postmaster = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0])
    process.kill(postmaster, 'SIGSTOP')
    const pids = [postmaster, ...(await childrenOf(postmaster))]
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await waitFor(async () => !(await Promise.all(pids.map(notZombie))).some(Boolean), 30_000, `postgres processes ${pids.join(', ')} still run 30 s after kill -9`)
    running = false
  }
  const stop = async () => {
    if (!running) return
    await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '120', 'stop'])
    running = false
  }
  await start()

  const query = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = [], database = 'postgres'): Promise<T[]> => {
    const client = new pg.Client({connectionString: `postgres://gray@127.0.0.1:${port}/${database}`, connectionTimeoutMillis: 10_000})
    await client.connect()
    try {
      return (await client.query<T>(sql, values)).rows
    } finally {
      await client.end()
    }
  }

  return {
    url,
    port,
    dir,
    query,
    async createDatabase() {
      const name = `gray_test_${process.pid}_${++databases}`
      await query(`CREATE DATABASE ${name}`)
      return `postgres://gray@127.0.0.1:${port}/${name}`
    },
    stop,
    kill,
    start,
    async destroy() {
      await stop().catch(() => undefined)
      await rm(dir, {recursive: true, force: true})
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
  }
}
