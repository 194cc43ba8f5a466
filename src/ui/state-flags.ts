// Flags of the `gray state` commands: which service and which backend, over gray.yaml's.
import {Flags} from '@oclif/core'

export const stateFlags = {
  service: Flags.string({summary: 'Service whose state to use (default: gray.yaml\'s).', helpGroup: 'STATE'}),
  backend: Flags.string({summary: 'State backend, over gray.yaml\'s state.backend.', options: ['local', 'postgres'], helpGroup: 'STATE'}),
  url: Flags.string({summary: 'PostgreSQL URL for the postgres backend (a secret: prefer the env var).', env: 'GRAY_DATABASE_URL', helpGroup: 'STATE'}),
  dir: Flags.string({summary: 'Journal directory for the local backend (default: gray.yaml\'s state.dir, or .gray).', helpGroup: 'STATE'}),
}

/** `--service` of the commands that read or steer a run: with it, no gray.yaml is needed */
export const serviceFlag = {
  service: Flags.string({
    summary: 'Service to act on where there is no gray.yaml; its state is PostgreSQL at GRAY_DATABASE_URL (else .gray here).',
    helpGroup: 'STATE',
  }),
}

/** `--detach` of the commands that drive a run (start, promote, resume): leave a wait instead of guarding it */
export const detachFlag = {
  detach: Flags.boolean({
    summary: 'With a live `gray agent` serving the service, hand the run to it and return once it has taken it (exit 0); with none, leave at a step that waits for `gray promote`, or a pause (exit 4): the run is then UNGUARDED until someone promotes or resumes it.',
  }),
}

/** What the help of a driving command says of waits, guarded or left with --detach. */
export const GUARDED_WAITS_HELP = `At a step that waits for \`gray promote\`, or while the run is paused (\`gray pause\` from anywhere), this command does not return: it stays and keeps measuring the gates every gate interval, and rolls the run back if they fail, until the run is promoted, resumed or rolled back. With --detach it leaves at such a wait instead (exit 4), and nothing measures the gates until someone promotes or resumes the run.`
