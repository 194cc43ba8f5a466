// The prometheus source: PromQL against a Prometheus server's HTTP API.
import type {MetricSourceRegistration} from '../registration.js'

export interface PrometheusSourceConfig {
  type: 'prometheus'
  url: string
  timeoutMs: number
  token?: string
}

const prometheus: MetricSourceRegistration<PrometheusSourceConfig> = {
  type: 'prometheus',
  schema: ({z, strictObject, duration, httpUrl, text}) =>
    strictObject({
      type: z.literal('prometheus'),
      url: httpUrl(),
      timeout: duration().prefault('10s'),
      token: text().optional(),
    }).transform(({timeout, ...rest}) => ({...rest, timeoutMs: timeout})),
  secrets: {credentials: ['token'], urls: ['url']},
  async create(config) {
    const {PrometheusSource} = await import('./index.js')
    return new PrometheusSource(config)
  },
}

export default prometheus
