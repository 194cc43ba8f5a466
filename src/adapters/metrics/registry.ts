// Every metric source gray knows, one line each. A source lives in its folder and
// declares itself in <type>/registration.ts (schema, loader); the config schema,
// the factory and the generated schemas read this list, in this order.
import scrape from './scrape/registration.js'
import prometheus from './prometheus/registration.js'
import sentry from './sentry/registration.js'
import command from './command/registration.js'
import type {MetricSourceRegistration} from './registration.js'

export const METRIC_SOURCES = [scrape, prometheus, sentry, command] as const

type ConfigOf<R> = R extends MetricSourceRegistration<infer C> ? C : never

/** A source under metrics: in the normalised config: one of the registered sources' configs. */
export type RegisteredSourceConfig = ConfigOf<(typeof METRIC_SOURCES)[number]>

const BY_TYPE = new Map<string, MetricSourceRegistration>(METRIC_SOURCES.map((s) => [s.type, s as unknown as MetricSourceRegistration]))

/** The registration of a source type, or undefined for a type gray does not know. */
export function findSource<C extends {type: string}>(type: string): MetricSourceRegistration<C> | undefined {
  return BY_TYPE.get(type) as MetricSourceRegistration<C> | undefined
}
