// `gray validate --connect` for metrics: runs each check's query once, for the
// gray version and (with a baseline) the stable one, and says what came back.
import type {GrayConfig} from '../../core/config/model.js'
import {errorMessage, MetricError} from '../../core/errors.js'
import type {Cohort, MetricSource} from '../../core/ports.js'

export interface SourceProbe {
  check: string
  source: string
  cohort: Cohort
  /** the version the query was filled with */
  version: string
  ok: boolean
  value: number | null
  samples: number | null
  /** the query as sent; null when it could not be built or sent */
  query: string | null
  raw?: Record<string, unknown>
  error?: string
  /** the error is a config problem (a rejected query, a wrong token), not a passing outage */
  permanent?: boolean
}

export interface ProbeOptions {
  /** the version to fill {version} with for gray; default: previousVersion, else "unknown" */
  version?: string
  /** the stable version (fills {version} for the baseline probe); without it a baseline probe reads "unknown" */
  previousVersion?: string
  /** evaluation time, epoch ms; default now */
  at?: number
  signal?: AbortSignal
  /** sources already built (tests); default: built from config.metrics */
  sources?: Record<string, MetricSource>
}

/** One measurement per check and cohort, all at once; never throws for a source's failure. */
export async function probeSources(config: GrayConfig, options: ProbeOptions = {}): Promise<SourceProbe[]> {
  const checks = config.gates?.checks ?? []
  if (checks.length === 0) return []
  const at = options.at ?? Date.now()
  const grayVersion = options.version ?? options.previousVersion ?? 'unknown'
  const stableVersion = options.previousVersion ?? 'unknown'
  let sources = options.sources
  if (!sources) {
    const {createSources} = await import('../factory.js')
    sources = await createSources(config)
  }
  const built = sources
  try {
    const probes = checks.flatMap((check) => {
      const cohorts: Array<[Cohort, string]> = [['gray', grayVersion]]
      if (check.baseline) cohorts.push(['stable', stableVersion])
      return cohorts.map(async ([cohort, version]): Promise<SourceProbe> => {
        const base = {check: check.name, source: check.source, cohort, version}
        const source = Object.hasOwn(built, check.source) ? built[check.source] : undefined
        if (!source) return {...base, ok: false, value: null, samples: null, query: null, error: `no metric source named ${check.source}`, permanent: true}
        try {
          const m = await source.measure({
            check,
            cohort,
            version,
            previousVersion: options.previousVersion,
            service: config.service,
            hosts: cohort === 'gray' ? config.hosts.gray : config.hosts.stable,
            windowMs: check.windowMs,
            at,
            signal: options.signal,
          })
          return {...base, ok: true, value: m.value, samples: m.samples, query: m.query ?? null, raw: m.raw}
        } catch (error) {
          return {...base, ok: false, value: null, samples: null, query: null, error: errorMessage(error), permanent: error instanceof MetricError ? error.permanent : false}
        }
      })
    })
    return await Promise.all(probes)
  } finally {
    if (!options.sources) await Promise.all(Object.values(built).map((s) => s.close?.()))
  }
}
