// `--adopt-config`: of the commands that may drive a run in-process (start, promote, pause, resume, rollback).
import {Flags} from '@oclif/core'

export const adoptConfigFlag = {
  'adopt-config': Flags.boolean({
    summary: "Drive with gray.yaml's config though it differs from the one the run started with (journaled as config.adopted).",
    description: 'Without it, a run is driven with the config it started with: start, promote and resume refuse (exit 2) and show the changed keys when gray.yaml differs; rollback and pause drive with the run\'s own config and say so.',
  }),
}
