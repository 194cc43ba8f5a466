// `npm test` after the build: the main suite (unit, integration, e2e) and the fault suite run at
// the same time. The fault suite mostly waits (bakes, lease TTLs, processes it killed), so the
// machine has room for the main suite beside it: on two cores the whole takes about the main
// suite's time instead of both one after the other. The main suite prints as it goes; the fault
// suite's output goes to test-artifacts/faults.log and is printed whole once both have ended, so
// the two never interleave. Each writes its JSON report (test-artifacts/{vitest,faults}.json),
// which .ci/run sums. The exit code is non-zero when either suite failed.
import {spawn, type ChildProcess} from 'node:child_process'
import {createWriteStream, mkdirSync, readFileSync} from 'node:fs'
import {once} from 'node:events'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const vitest = path.join(root, 'node_modules', '.bin', 'vitest')
const artifacts = path.join(root, 'test-artifacts')
mkdirSync(artifacts, {recursive: true})

const report = (name: string) => ['--reporter=default', '--reporter=json', `--outputFile.json=test-artifacts/${name}.json`]

const main = spawn(vitest, ['run', ...report('vitest')], {cwd: root, stdio: 'inherit'})
const faultsLogPath = path.join(artifacts, 'faults.log')
const faultsLog = createWriteStream(faultsLogPath)
const faults = spawn(vitest, ['run', '--config', 'vitest.faults.config.ts', ...report('faults')], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
faults.stdout?.pipe(faultsLog, {end: false})
faults.stderr?.pipe(faultsLog, {end: false})

// Ctrl-C or a CI cancel stops both
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    main.kill(signal)
    faults.kill(signal)
  })
}

const ended = async (child: ChildProcess): Promise<number> => {
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  return code ?? (signal ? 1 : 0)
}

const [mainCode, faultsCode] = await Promise.all([ended(main), ended(faults)])
faultsLog.end()
await once(faultsLog, 'finish')
process.stdout.write(`\n── the fault suite, run alongside (exit ${faultsCode}; its log: test-artifacts/faults.log) ──\n`)
process.stdout.write(readFileSync(faultsLogPath))
process.exit(mainCode !== 0 ? mainCode : faultsCode)
