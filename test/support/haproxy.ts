// A real HAProxy for tests, in master-worker mode (-W) as Debian's service
// runs it: config, sockets and pid file in a temp dir, listening on 127.0.0.1.
// `reload` is USR2 to the master, as `systemctl reload haproxy` sends it.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './nginx.js'
import {alive, waitFor} from './process.js'

export interface HaproxyOptions {
  /** the fragment's first content, given its path and the state map's (HAProxy will not start without them) */
  fragment: (fragmentPath: string) => {fragment: string; map: string; mapPath: string}
  fragmentName?: string
  /** the ports gray's frontend binds; one is made when left out */
  port?: number
}

export interface HaproxyInstance {
  dir: string
  port: number
  socket: string
  fragmentPath: string
  testArgv: string[]
  reloadArgv: string[]
  baseUrl: string
  master(): Promise<number>
  stop(): Promise<void>
}

export function haproxyBinary(): string | null {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) {
    if (existsSync(candidate)) return candidate
  }
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy'], {encoding: 'utf8'}).trim() || null
  } catch {
    return null
  }
}

export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyInstance> {
  const binary = haproxyBinary()
  if (!binary) throw new Error('HAProxy is not installed (apt-get install haproxy)')
  const dir = await mkdtemp(join(tmpdir(), 'gray-haproxy-'))
  const port = options.port ?? (await freePort())
  const socket = join(dir, 'admin.sock')
  const mainPath = join(dir, 'haproxy.cfg')
  const fragmentPath = join(dir, options.fragmentName ?? 'checkout.cfg')
  const pidPath = join(dir, 'haproxy.pid')
  await writeFile(
    mainPath,
    `global
    stats socket ${socket} mode 600 level admin
    stats timeout 30s
    nbthread 2
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
`,
  )
  const first = options.fragment(fragmentPath)
  await writeFile(fragmentPath, first.fragment)
  await writeFile(first.mapPath, first.map)
  const base = [binary, '-f', mainPath, '-f', fragmentPath]
  const child = spawn(binary, ['-W', '-D', '-p', pidPath, '-S', join(dir, 'master.sock'), ...base.slice(1)], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`haproxy did not start (${code}): ${stderr}`)
  const master = async () => Number((await readFile(pidPath, 'utf8').catch(() => '')).trim().split('\n')[0])
  // a pid of 0 would make `kill` signal the whole process group
  await waitFor(async () => (await master()) > 1 && existsSync(socket), 10_000, 'haproxy did not write its pid file and socket')
  const pid = await master()
  return {
    dir,
    port,
    socket,
    fragmentPath,
    testArgv: [...base, '-c', '-q'],
    reloadArgv: ['kill', '-USR2', String(pid)],
    baseUrl: `http://127.0.0.1:${port}`,
    master,
    async stop() {
      try {
        process.kill(pid, 'SIGTERM')
        await waitFor(() => !alive(pid), 10_000, 'haproxy did not stop').catch(() => undefined)
      } catch {
        // already gone
      }
      await rm(dir, {recursive: true, force: true})
    },
  }
}
