// `gray validate --connect` on a terminal: the three kinds of checks as a listr2
// task list on stderr while they run (the gateway, the hosts with a running
// count, the gate queries), each ending ✔ or ✖ with its one-line detail. Only
// where a person watches: stderr a TTY, no CI, not --json, 80 columns or more
// (as the run view decides, src/ui/progress.ts). The list only watches the
// service's progress callback: it never rejects out of the command, installs no
// signal handler of listr2's, and its end is bounded by the service's own.
import {Listr, ListrLogger, ProcessOutput, type ListrTask} from 'listr2'

import type {ConnectCheck, ValidatePhase, ValidateProgress} from '../services/validate.js'
import {plural} from './progress.js'

const MIN_COLUMNS = 80

/** Whether the task list draws: a person's terminal on stderr, 80 columns or more. */
export function showsTasks(json: boolean): boolean {
  const err = process.stderr
  return !json && Boolean(err.isTTY) && !process.env.CI && (err.columns ?? 0) >= MIN_COLUMNS
}

export interface ValidateTasks {
  /** the service's progress callback */
  progress(event: ValidateProgress): void
  /** resolves once the list drew its last frame (every phase done, or `abandon` called) */
  end(): Promise<void>
  /** the service ended without finishing a phase (it threw): the list stops at once */
  abandon(): void
}

interface Phase {
  title: string
  done: Promise<ConnectCheck[] | null>
  settle(results: ConnectCheck[] | null): void
}

function phase(title: string): Phase {
  let settle: (results: ConnectCheck[] | null) => void = () => undefined
  const done = new Promise<ConnectCheck[] | null>((resolve) => (settle = resolve))
  return {title, done, settle}
}

/** The one-line ending of a kind of check: how many passed, and the first failure's words. */
export function ending(results: readonly ConnectCheck[], noun: [string, string], passed: string): {ok: boolean; line: string} {
  const failed = results.filter((r) => !r.ok)
  if (results.length === 1) return {ok: !failed.length, line: results[0]!.detail}
  if (!failed.length) return {ok: true, line: results.length === 0 ? `no ${noun[1]} to check` : `all ${passed}`}
  const first = failed[0]!
  return {ok: false, line: `${failed.length} of ${results.length} failed: ${first.what}: ${first.detail}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ''}`}
}

export function validateTasks(): ValidateTasks {
  const phases: Record<ValidatePhase, Phase> = {gateway: phase('Reach the gateway'), hosts: phase('Connect to the hosts'), gates: phase('Run the gate queries')}
  const hostCount = {seen: 0, failed: 0, of: 0}
  const task = (key: ValidatePhase, noun: [string, string], passed: string): ListrTask => ({
    title: phases[key].title,
    task: async (_ctx, t) => {
      const title = () => {
        t.title = key === 'hosts' && hostCount.of > 0 ? `${phases.hosts.title} (${hostCount.seen}/${hostCount.of}${hostCount.failed ? `, ${hostCount.failed} failed` : ''})` : phases[key].title
      }
      title()
      const tick = setInterval(title, 100)
      try {
        const results = await phases[key].done
        if (results === null) throw new Error('not finished')
        const end = ending(results, noun, passed)
        t.title = `${phases[key].title} — ${end.line}`
        if (!end.ok) throw new Error(end.line)
      } finally {
        clearInterval(tick)
      }
    },
  })
  // drawn from the first phase on: a config that does not load shows no list, only its error
  let running: Promise<void> | null = null
  const start = (): Promise<void> => {
    // the list writes to stderr (stdout stays the command's own), lines cut to the terminal's width
    const logger = new ListrLogger({useIcons: true, processOutput: new ProcessOutput(process.stderr, process.stderr)})
    const list = new Listr([task('gateway', ['check', 'checks'], 'pass'), task('hosts', ['host', 'hosts'], 'accept connections'), task('gates', ['gate query', 'gate queries'], 'answer')], {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      // the caller decided this is a person's terminal on stderr; stdout may be a pipe
      forceTTY: true,
      renderer: 'default',
      rendererOptions: {logger, formatOutput: 'truncate', collapseErrors: false, showErrorMessage: false},
    })
    // listr2 hides the cursor while it draws; Ctrl-C stays what it is everywhere in gray outside a
    // run (the process ends by the signal), only with the cursor given back first
    const interrupted = (signal: NodeJS.Signals) => {
      logger.process.toStdout('\u001B[?25h')
      stopListening()
      process.kill(process.pid, signal)
    }
    const stopListening = () => {
      process.off('SIGINT', interrupted)
      process.off('SIGTERM', interrupted)
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
    running = list
      .run()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(stopListening)
    return running
  }
  return {
    progress(event) {
      running ??= start()
      const p = phases[event.phase]
      if (event.event === 'start') {
        if (event.phase === 'gateway') p.title = `Reach the ${event.what}`
        else if (event.phase === 'hosts') {
          hostCount.of = event.count
          p.title = `Connect to ${plural(event.count, 'host', 'hosts')}`
        } else p.title = `Run ${plural(event.count, 'gate query', 'gate queries')}`
      } else if (event.event === 'item') {
        hostCount.seen += 1
        if (!event.result.ok) hostCount.failed += 1
      } else p.settle(event.results)
    },
    end: () => running ?? Promise.resolve(),
    abandon() {
      for (const p of Object.values(phases)) p.settle(null)
    },
  }
}
