// The sentry source: a release's crash-free rate from Sentry's API.
import type {MetricSourceRegistration} from '../registration.js'

export interface SentrySourceConfig {
  type: 'sentry'
  url: string
  org: string
  project: string
  token?: string
  timeoutMs: number
}

const sentry: MetricSourceRegistration<SentrySourceConfig> = {
  type: 'sentry',
  schema: ({z, strictObject, duration, httpUrl, text}) =>
    strictObject({
      type: z.literal('sentry'),
      url: httpUrl(),
      org: text(),
      project: text(),
      token: text().optional(),
      timeout: duration().prefault('10s'),
    }).transform(({timeout, ...rest}) => ({...rest, timeoutMs: timeout})),
  secrets: {credentials: ['token'], urls: ['url']},
  async create(config) {
    const {SentrySource} = await import('./index.js')
    return new SentrySource(config)
  },
}

export default sentry
