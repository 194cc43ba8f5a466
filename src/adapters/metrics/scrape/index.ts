// A metric source that reads each host's own /metrics endpoint, for services
// that expose Prometheus counters but have no Prometheus server in front.
import {bounded, MAX_SCRAPE_BYTES, sizeLimits} from '../../http-limits.js'
import type {AxiosInstance} from 'axios'
import type {Check, Host, ScrapeSourceConfig} from '../../../core/config/model.js'
import {errorMessage, MetricError} from '../../../core/errors.js'
import type {MeasureRequest, Measurement, MetricSource} from '../../../core/ports.js'
import {fillTemplate} from '../../../core/template.js'
import {ExpositionError, parseExposition} from './exposition.js'
import {currentSum, increase, ScrapeHistory, type Scrape} from './history.js'
import {parseSelector, SelectorError, type Selector} from './selector.js'

const KEEP_EXTRA_MS = 60_000

export class ScrapeSource implements MetricSource {
  readonly type = 'scrape'
  private readonly history = new ScrapeHistory()
  private longestWindowMs = 0
  private client?: Promise<AxiosInstance>

  constructor(private readonly config: ScrapeSourceConfig) {}

  async measure(req: MeasureRequest): Promise<Measurement> {
    const selectors = selectorsOf(req)
    const scrapes = await this.scrapeAll(req)
    this.longestWindowMs = Math.max(this.longestWindowMs, req.windowMs)
    this.history.dropBefore(req.at - this.longestWindowMs - KEEP_EXTRA_MS)
    if ('query' in selectors) return valueOf(selectors.query, scrapes)
    return this.ratioOf(selectors.errors, selectors.total, req)
  }

  private ratioOf(errorsSelector: Selector, totalSelector: Selector, req: MeasureRequest): Measurement {
    let errors = 0
    let total = 0
    let hosts = 0
    let from: number | undefined
    for (const host of req.hosts) {
      const chain = this.history.between(host.address, req.at - req.windowMs, req.at)
      if (chain.length < 2) continue
      hosts++
      from = Math.min(from ?? Number.POSITIVE_INFINITY, (chain[0] as Scrape).at)
      errors += increase(chain, errorsSelector)
      total += increase(chain, totalSelector)
    }
    const value = hosts > 0 && total > 0 ? errors / total : null
    return {
      value,
      samples: hosts > 0 ? total : null,
      raw: {errors, total, hosts, from: from === undefined ? null : new Date(from).toISOString(), to: new Date(req.at).toISOString()},
      query: `${errorsSelector.text} / ${totalSelector.text}`,
    }
  }

  private async scrapeAll(req: MeasureRequest): Promise<Scrape[]> {
    const results = await Promise.allSettled(req.hosts.map((host) => this.scrape(host, req)))
    const scrapes: Scrape[] = []
    for (const result of results) if (result.status === 'fulfilled') scrapes.push(result.value)
    // what was read is kept even when another host failed: it is a true observation
    for (const scrape of scrapes) this.history.add(scrape)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    return scrapes
  }

  private async scrape(host: Host, req: MeasureRequest): Promise<Scrape> {
    const url = `http://${host.address}${this.config.path.startsWith('/') ? '' : '/'}${this.config.path}`
    const who = host.name === host.address ? url : `${host.name} (${url})`
    const client = await this.axios()
    let body: string
    try {
      const response = await client.get<string>(url, {signal: req.signal})
      if (response.status < 200 || response.status >= 300) {
        throw new MetricError(`Scraping metrics from ${who} failed with HTTP ${response.status}.`)
      }
      body = String(response.data)
    } catch (error) {
      if (error instanceof MetricError) throw error
      throw new MetricError(`Cannot scrape metrics from ${who}: ${transportProblem(error, this.config.timeoutMs)}.`, {cause: error})
    }
    try {
      return {host: host.address, at: req.at, series: parseExposition(body)}
    } catch (error) {
      if (!(error instanceof ExpositionError)) throw error
      throw new MetricError(`The metrics from ${who} are malformed at line ${error.line}: ${error.problem}.`)
    }
  }

  private axios(): Promise<AxiosInstance> {
    this.client ??= import('axios').then(({default: axios}) =>
      bounded(axios.create({
        timeout: this.config.timeoutMs,
        ...sizeLimits(MAX_SCRAPE_BYTES),
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        proxy: false,
        headers: {accept: 'text/plain;version=0.0.4'},
      }), this.config.timeoutMs),
    )
    return this.client
  }
}

function valueOf(selector: Selector, scrapes: Scrape[]): Measurement {
  let sum: number | undefined
  for (const scrape of scrapes) {
    const value = currentSum(scrape, selector)
    if (value !== undefined) sum = (sum ?? 0) + value
  }
  const finite = sum !== undefined && Number.isFinite(sum)
  return {
    value: finite ? (sum as number) : null,
    samples: null,
    raw: {value: sum === undefined ? null : finite ? sum : String(sum), hosts: scrapes.length},
    query: selector.text,
  }
}

type Selectors = {query: Selector} | {errors: Selector; total: Selector}

function selectorsOf(req: MeasureRequest): Selectors {
  const {check} = req
  if (check.errors !== undefined && check.total !== undefined) {
    return {errors: selectorOf(check, check.errors, req), total: selectorOf(check, check.total, req)}
  }
  if (check.query !== undefined) return {query: selectorOf(check, check.query, req)}
  throw new MetricError(`Check ${check.name} needs errors and total, or query, to read from a scrape source.`, {permanent: true})
}

function selectorOf(check: Check, template: string, req: MeasureRequest): Selector {
  let text: string
  try {
    text = fillTemplate(template, {version: req.version, service: req.service})
  } catch (error) {
    throw new MetricError(`Check ${check.name}: a scrape source fills only {version} and {service} (${errorMessage(error)}).`, {permanent: true})
  }
  try {
    return parseSelector(text)
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error
    throw new MetricError(
      `Check ${check.name}: a scrape source reads metric selectors such as http_requests_total{code=~"5.."}, and "${text}" is not one (${error.message}).`,
      {permanent: true},
    )
  }
}

function transportProblem(error: unknown, timeoutMs: number): string {
  const code = (error as {code?: string}).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`
  if (code === 'ERR_CANCELED') return 'cancelled'
  return code ?? errorMessage(error)
}
