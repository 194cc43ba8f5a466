// A real nginx for tests: its own prefix in a temp dir, listening on 127.0.0.1,
// pid file and logs inside the prefix, nothing under /etc or /var. `daemon on`:
// the master forks away and is stopped by the pid in its pid file.
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {alive, waitFor} from './process.js'

export interface NginxOptions {
  /** name of gray's include file inside the prefix */
  includeName?: string
  /** the include's first content, given its path (nginx will not start on a missing include) */
  include: (includePath: string) => string
  /** the server {} block(s) that use the include; `{port}` is the listen port */
  servers: (port: number) => string
  workers?: number
}

export interface NginxInstance {
  prefix: string
  port: number
  confPath: string
  includePath: string
  errorLog: string
  /** argv for gray.yaml's `test` and `reload` */
  testArgv: string[]
  reloadArgv: string[]
  baseUrl: string
  pid(): Promise<number>
  stop(): Promise<void>
}

export function nginxBinary(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    if (existsSync(candidate)) return candidate
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], {encoding: 'utf8'}).trim() || null
  } catch {
    return null
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export async function startNginx(options: NginxOptions): Promise<NginxInstance> {
  const binary = nginxBinary()
  if (!binary) throw new Error('nginx is not installed (apt-get install nginx-light)')
  const prefix = await mkdtemp(join(tmpdir(), 'gray-nginx-'))
  await mkdir(join(prefix, 'logs'))
  await mkdir(join(prefix, 'temp'))
  const includePath = join(prefix, options.includeName ?? 'gray.conf')
  const confPath = join(prefix, 'nginx.conf')
  const errorLog = join(prefix, 'logs', 'error.log')
  const pidPath = join(prefix, 'nginx.pid')
  await writeFile(includePath, options.include(includePath))

  const port = await freePort()
  const temp = (name: string) => `${name}_temp_path ${join(prefix, 'temp', name)};`
  // as root, nginx would run workers as nobody; keep them the user that owns the temp dir
  const user = process.getuid?.() === 0 ? 'user root root;\n' : ''
  await writeFile(
    confPath,
    `${user}daemon on;
master_process on;
worker_processes ${options.workers ?? 2};
pid ${pidPath};
error_log ${errorLog} warn;
events { worker_connections 1024; }
http {
    access_log off;
    ${temp('client_body')}
    ${temp('proxy')}
    ${temp('fastcgi')}
    ${temp('uwsgi')}
    ${temp('scgi')}
    include ${includePath};
${options.servers(port)}
}
`,
  )
  const base = [binary, '-p', prefix, '-c', confPath, '-e', errorLog]
  execFileSync(base[0] as string, [...base.slice(1)], {stdio: 'pipe'})

  const pid = async () => Number((await readFile(pidPath, 'utf8')).trim())
  await waitFor(() => existsSync(pidPath), 5000, 'nginx did not write its pid file')

  return {
    prefix,
    port,
    confPath,
    includePath,
    errorLog,
    testArgv: [...base, '-t'],
    reloadArgv: [...base, '-s', 'reload'],
    baseUrl: `http://127.0.0.1:${port}`,
    pid,
    async stop() {
      let master: number | null = null
      try {
        master = await pid()
      } catch {
        master = null
      }
      if (master) {
        try {
          process.kill(master, 'SIGTERM')
        } catch {
          master = null
        }
      }
      if (master) await waitFor(() => !alive(master as number), 10_000, 'nginx did not stop').catch(() => undefined)
      await rm(prefix, {recursive: true, force: true})
    },
  }
}
