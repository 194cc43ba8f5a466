import type {Hook} from '@oclif/core'

// An unknown command (or a stray argument read as one) gets one line and exit 2, like any usage error.
const hook: Hook<'command_not_found'> = async function (options) {
  const words = options.id.split(':')
  const known = options.config.commands.map((c) => c.id)
  const command = known.includes(words[0] ?? '') ? words[0] : undefined
  const message = command
    ? `gray ${command} takes no argument "${words.slice(1).join(' ')}"; run \`gray ${command} --help\``
    : `there is no command "${words.join(' ')}"; run \`gray --help\` for the list`
  process.stderr.write(`gray: ${message}\n`)
  this.exit(2)
}

export default hook
