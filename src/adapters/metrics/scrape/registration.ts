// The scrape source: each host's own /metrics, in the Prometheus exposition format.
import type {MetricSourceRegistration} from '../registration.js'

export interface ScrapeSourceConfig {
  type: 'scrape'
  /** path of the metrics endpoint on every host */
  path: string
  timeoutMs: number
}

const scrape: MetricSourceRegistration<ScrapeSourceConfig> = {
  type: 'scrape',
  schema: ({z, strictObject, duration}) =>
    strictObject({
      type: z.literal('scrape'),
      path: z
        .string({error: 'must be a path starting with /'})
        .startsWith('/', {error: 'must be a path starting with /'})
        .prefault('/metrics'),
      timeout: duration().prefault('5s'),
    }).transform(({timeout, ...rest}) => ({...rest, timeoutMs: timeout})),
  async create(config) {
    const {ScrapeSource} = await import('./index.js')
    return new ScrapeSource(config)
  },
}

export default scrape
