import type {Hook} from '@oclif/core'

import {colourFromEnvironment} from '../ui/process.js'

// runs before any command module (and so chalk) is loaded
const hook: Hook<'init'> = async function () {
  colourFromEnvironment()
}

export default hook
