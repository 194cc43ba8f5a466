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
