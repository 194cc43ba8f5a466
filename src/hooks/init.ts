import type {Hook} from '@oclif/core'

// NO_COLOR (no-color.org) turns colour off everywhere; chalk itself only reads FORCE_COLOR,
// and this runs before any command module (and so chalk) is loaded.
const hook: Hook<'init'> = async function () {
  if (process.env.NO_COLOR && process.env.FORCE_COLOR === undefined) process.env.FORCE_COLOR = '0'
}

export default hook
