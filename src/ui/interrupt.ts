// The first Ctrl-C while this terminal drives a run asks what to do. The
// driver keeps driving while the question is on screen; a second Ctrl-C (at the
// question) pauses and leaves; an answer that comes too late changes nothing.
import chalk from 'chalk'

import {fmt} from '../core/gates/judge.js'
import type {RunState} from '../core/run/state.js'
import type {InterruptAsk, InterruptChoice} from '../services/drive.js'
import {canPrompt} from './interactive.js'
import type {Progress} from './progress.js'

/** The ask for drive options: on a terminal a question, else none (the signal pauses). */
export function interruptAsk(json: boolean, progress: Progress): InterruptAsk | undefined {
  if (!canPrompt(json)) return undefined
  return async (state: RunState, cancel: AbortSignal): Promise<InterruptChoice> => {
    const weight = state.applied && state.applied.mode === 'split' ? `${fmt(state.applied.weightBp / 100)}%` : 'its current weight'
    const {select} = await import('@inquirer/prompts')
    progress.suspend()
    try {
      return await select<InterruptChoice>(
        {
          message: `Ctrl-C: ${state.service} ${state.version} is at ${weight} and the driver is still driving. What now?`,
          choices: [
            {name: 'Keep going', value: 'continue', description: 'the driver goes on as if nothing happened'},
            {name: 'Roll back now', value: 'rollback', description: 'traffic to stable first, then the hosts back to the previous version'},
            {
              name: 'Pause and leave',
              value: 'pause',
              description: 'stops at the current weight once the step in progress settles; nothing guards the run until `gray resume`',
            },
          ],
        },
        {signal: cancel, clearPromptOnDone: true},
      )
    } finally {
      progress.resume()
    }
  }
}

/** The notes of drive options, printed above the live view. */
export function interruptNote(progress: Progress): (line: string, loud?: boolean) => void {
  return (line, loud = false) => progress.note(loud ? chalk.red.bold(line) : line)
}
