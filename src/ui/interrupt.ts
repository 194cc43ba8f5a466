// After Ctrl-C paused a run: on a TTY, ask whether to leave it paused or roll back.
import type {RunState} from '../core/run/state.js'
import {canPrompt} from './interactive.js'

export async function askRollbackAfterInterrupt(state: RunState, json: boolean): Promise<boolean> {
  if (!canPrompt(json)) return false
  const weight = state.applied && state.applied.mode === 'split' ? `${state.applied.weightBp / 100}%` : 'its current weight'
  const {select} = await import('@inquirer/prompts')
  const choice = await select({
    message: `${state.service} ${state.version} is paused at ${weight}. Leave it paused, or roll back now?`,
    choices: [
      {name: 'Leave it paused (`gray resume` goes on, `gray rollback` later)', value: 'pause'},
      {name: 'Roll back now: traffic to stable, hosts to the previous version', value: 'rollback'},
    ],
  }).catch(() => 'pause') // a second Ctrl-C at the prompt leaves it paused
  return choice === 'rollback'
}
