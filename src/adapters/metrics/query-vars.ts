// What a metric query's placeholders stand for in one measurement, shared by
// the sources that send query text somewhere (prometheus, sentry, command).
import {tooLarge} from '../http-limits.js'
import {errorMessage, MetricError} from '../../core/errors.js'
import type {MeasureRequest} from '../../core/ports.js'
import {fillTemplate, type TemplateVars} from '../../core/template.js'
import {certificateProblem} from '../tls.js'

/** A window as a Prometheus duration in whole seconds, rounded up: 1500 ms → "2s". */
export function windowDuration(windowMs: number): string {
  return `${Math.max(1, Math.ceil(windowMs / 1000))}s`
}

/**
 * The cohort's host names as a regular expression inside a PromQL double-quoted string
 * (`instance=~"{hosts}"`): names joined by `|`, regex metacharacters escaped with a backslash,
 * which the string itself needs doubled. No hosts: the empty pattern (only an absent label matches).
 */
export function hostsPattern(names: readonly string[]): string {
  return names.map((n) => n.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&').replace(/[\\"]/g, '\\$&')).join('|')
}

export function queryVars(req: MeasureRequest): TemplateVars {
  // the stable cohort runs the previous version; a gray request may carry it when the engine knows it
  const previousVersion = req.cohort === 'stable' ? req.version : req.previousVersion
  return {version: req.version, service: req.service, window: windowDuration(req.windowMs), previousVersion, hosts: hostsPattern(req.hosts.map((h) => h.name))}
}

/** Fills a query's placeholders; an unfillable one is a config problem no retry can fix. */
export function fillQuery(template: string, req: MeasureRequest): string {
  try {
    return fillTemplate(template, queryVars(req))
  } catch (error) {
    throw new MetricError(`Check ${req.check.name}: ${errorMessage(error)} when measuring the ${req.cohort} version; use {version}, {previousVersion}, {service}, {window} or {hosts} in this query.`, {
      permanent: true,
    })
  }
}

/** An address fit for messages: no user, password or query string. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, '')}`
  } catch {
    return 'the configured URL'
  }
}

/** Why a request got no HTTP answer, in a few words. */
export function transportProblem(error: unknown, timeoutMs: number): string {
  const code = (error as {code?: string}).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ECONNRESET') return 'connection reset'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found'
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`
  if (code === 'ERR_CANCELED') return 'cancelled'
  if (code === 'ERR_ANSWER_TOO_LARGE') return tooLarge()
  return certificateProblem(code) ?? code ?? errorMessage(error)
}
