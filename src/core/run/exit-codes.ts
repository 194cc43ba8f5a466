// The one table from a run's state to gray's exit code (SPEC: 0 ok, 1 failure, 3 rolled back, 4 paused).

import {ExitCode, type ExitCodeValue} from '../errors.js'
import {TERMINAL, type RunState, type RunStatus} from './state.js'

/**
 * The exit code a command reports for a run in each state. A run that ended says how it ended; a run that
 * waits for a person (paused, waiting for promote) exits 4; a driver or control request that stops while the
 * run is still in motion reports a failure. `status --wait` differs on that last row: see {@link waitExitCode}.
 */
export const RUN_EXIT_CODES: Readonly<Record<RunStatus, ExitCodeValue>> = {
  completed: ExitCode.ok,
  rolled_back: ExitCode.rolledBack,
  failed: ExitCode.failure,
  paused: ExitCode.paused,
  waiting: ExitCode.paused,
  deploying: ExitCode.failure,
  running: ExitCode.failure,
  baking: ExitCode.failure,
  rolling_back: ExitCode.failure,
}

/** The exit code of a run as it stands (the driver's outcome, control commands). */
export function exitCodeOf(state: Pick<RunState, 'status'>): ExitCodeValue {
  return RUN_EXIT_CODES[state.status]
}

/** Whether a status-document state is one a run ends in. */
export function isEndedStatus(status: string): boolean {
  return (TERMINAL as readonly string[]).includes(status)
}

/** `status --wait`: an ended run's code from the table; a run that has not ended (yet, or by the timeout) exits 4. */
export function waitExitCode(status: string): ExitCodeValue {
  return isEndedStatus(status) ? RUN_EXIT_CODES[status as RunStatus] : ExitCode.paused
}
