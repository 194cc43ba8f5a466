// Runs src/state/lock.ts in a real child process: transpiles the modules it needs
// into a temp dir, then starts `node -e` that takes the lock and answers "check".
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath, pathToFileURL} from 'node:url'
import ts from 'typescript'

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MODULES = ['src/state/lock.ts', 'src/state/files.ts', 'src/core/errors.ts', 'src/core/ports.ts']

/** builds the lock module for children under `tmp`; returns its file URL */
export async function buildLockModule(tmp: string): Promise<string> {
  const out = join(tmp, 'build')
  for (const file of MODULES) {
    const source = await readFile(join(repo, file), 'utf8')
    const {outputText} = ts.transpileModule(source, {
      compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true},
      fileName: file,
    })
    const target = join(out, file.replace(/\.ts$/, '.js'))
    await mkdir(dirname(target), {recursive: true})
    await writeFile(target, outputText)
  }

  await writeFile(join(out, 'package.json'), '{"type":"module"}\n')
  await symlink(join(repo, 'node_modules'), join(out, 'node_modules'), 'dir')
  return pathToFileURL(join(out, 'src/state/lock.js')).href
}

export interface LockHolder {
  child: ChildProcess
  pid: number
  epoch: number
  /** asks the child to run assertHeld(); resolves "held" or "lost: <message>" */
  check(): Promise<string>
  /** resolves with the next line the child prints that starts with one of `prefixes` */
  nextLine(...prefixes: string[]): Promise<string>
  kill(): void
}

const childScript = `
const [url, dir, staleMs] = process.argv.slice(1)
const {acquireLock} = await import(url)
const actor = {user: 'alice', host: (await import('node:os')).hostname(), pid: process.pid, ci: false}
const lock = await acquireLock(dir, {actor, staleMs: Number(staleMs)})
lock.onCompromised((error) => console.log('compromised: ' + error.message))
console.log('ready ' + lock.epoch)
const lines = (await import('node:readline')).createInterface({input: process.stdin})
lines.on('line', () => {
  try { lock.assertHeld(); console.log('held') } catch (error) { console.log('lost: ' + error.message) }
})
`

export async function spawnLockHolder(lockModuleUrl: string, dir: string, staleMs: number): Promise<LockHolder> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript, lockModuleUrl, dir, String(staleMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const waiting: {matches: (line: string) => boolean; resolve: (line: string) => void}[] = []
  const backlog: string[] = []
  createInterface({input: child.stdout!}).on('line', (line) => {
    const index = waiting.findIndex((w) => w.matches(line))
    if (index === -1) backlog.push(line)
    else waiting.splice(index, 1)[0]!.resolve(line)
  })
  const nextLine = (...prefixes: string[]) =>
    new Promise<string>((resolve, reject) => {
      const matches = (line: string) => prefixes.some((prefix) => line.startsWith(prefix))
      const index = backlog.findIndex(matches)
      if (index !== -1) return resolve(backlog.splice(index, 1)[0]!)
      waiting.push({matches, resolve})
      child.once('exit', (code, signal) => reject(new Error(`lock holder exited (${code ?? signal}) before printing ${prefixes.join(' or ')}`)))
    })

  const ready = await nextLine('ready ')
  return {
    child,
    pid: child.pid!,
    epoch: Number(ready.slice('ready '.length)),
    nextLine,
    check() {
      const answer = nextLine('held', 'lost: ')
      child.stdin!.write('check\n')
      return answer
    },
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    },
  }
}
