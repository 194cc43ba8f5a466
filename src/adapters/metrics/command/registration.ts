// The command source: an argv of your own that prints the value.
import type {MetricSourceRegistration} from '../registration.js'

export interface CommandSourceConfig {
  type: 'command'
  command: string[]
  timeoutMs: number
}

const command: MetricSourceRegistration<CommandSourceConfig> = {
  type: 'command',
  schema: ({z, strictObject, duration, argv}) =>
    strictObject({
      type: z.literal('command'),
      command: argv(),
      timeout: duration().prefault('30s'),
    }).transform(({timeout, ...rest}) => ({...rest, timeoutMs: timeout})),
  secrets: {argv: ['command']},
  async create(config) {
    const {CommandMetricSource} = await import('./index.js')
    return new CommandMetricSource(config)
  },
}

export default command
