// Health checks after a deploy: plain HTTP GETs until the host answers the
// expected status, bounded by the check's timeout and the caller's signal.
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {setTimeout as sleep} from 'node:timers/promises'

import type {HealthCheck, Host} from '../../core/config/model.js'
import {DeployError, errorMessage} from '../../core/errors.js'
import {fillTemplate, type TemplateVars} from '../../core/template.js'
import {formatDuration} from './duration.js'

/** One probe of a host's health URL. */
export interface HealthProbe {
  url: string
  healthy: boolean
  /** HTTP status; absent when no answer came */
  status?: number
  /** why no answer came: connection refused, request timed out after 5s … */
  error?: string
}

/** A single probe never waits longer than this, so a hung host cannot eat the whole check. */
const PROBE_TIMEOUT_MS = 5000

export function hostVars(host: Host): TemplateVars {
  return {'host.name': host.name, 'host.address': host.address}
}

export function healthUrl(host: Host, health: HealthCheck, vars: TemplateVars = {}): string {
  return fillTemplate(health.url, {...vars, ...hostVars(host)})
}

/** Probes a host once. Never throws, except when `signal` aborts. */
export async function checkHealth(host: Host, health: HealthCheck, signal?: AbortSignal): Promise<HealthProbe> {
  const timeoutMs = Math.ceil(Math.min(health.timeoutMs, PROBE_TIMEOUT_MS))
  return probe(healthUrl(host, health), health.expect, timeoutMs, signal)
}

/**
 * Polls the host's health URL every `intervalMs` until it answers `expect`.
 * Throws DeployError when `timeoutMs` passes first or the signal aborts.
 */
export async function waitForHealth(
  host: Host,
  health: HealthCheck,
  options: {signal?: AbortSignal; vars?: TemplateVars; onOutput?: (line: string) => void} = {},
): Promise<HealthProbe> {
  const {signal, onOutput} = options
  const url = healthUrl(host, health, options.vars)
  const started = performance.now()
  const elapsed = () => performance.now() - started
  const cancelled = () => new DeployError(`health check ${url} was cancelled`, host.name)
  let lastReport: string | undefined
  for (;;) {
    if (signal?.aborted) throw cancelled()
    const left = health.timeoutMs - elapsed()
    // a probe near the deadline still gets a fair second to answer
    const probeTimeout = Math.ceil(Math.min(PROBE_TIMEOUT_MS, Math.max(left, 1000)))
    const result = await probe(url, health.expect, probeTimeout, signal).catch(
      (error: unknown) => {
        if (signal?.aborted) throw cancelled()
        throw error
      },
    )
    if (result.healthy) {
      onOutput?.(`health check ${url} answered ${result.status}`)
      return result
    }
    const report = describe(result)
    if (report !== lastReport) onOutput?.(`health check ${url} ${report}, waiting for ${health.expect}`)
    lastReport = report
    const remaining = health.timeoutMs - elapsed()
    if (remaining <= 0) {
      const after = formatDuration(health.timeoutMs)
      throw new DeployError(
        result.status === undefined
          ? `health check ${url} failed after ${after}: ${result.error}`
          : `health check ${url} answered ${result.status}, expected ${health.expect} after ${after}`,
        host.name,
      )
    }
    await sleep(Math.min(health.intervalMs, remaining), undefined, {signal}).catch(() => undefined)
  }
}

function describe(result: HealthProbe): string {
  return result.status === undefined ? `got no answer (${result.error})` : `answered ${result.status}`
}

async function probe(url: string, expect: number, timeoutMs: number, signal?: AbortSignal): Promise<HealthProbe> {
  try {
    const status = await getStatus(url, timeoutMs, signal)
    return {url, healthy: status === expect, status}
  } catch (error) {
    if (signal?.aborted) throw error
    return {url, healthy: false, error: connectionError(error, timeoutMs)}
  }
}

class NoAnswer extends Error {}

// node:http rather than fetch: fetch refuses "bad ports" (6000, 6667 …) that real services do use
function getStatus(url: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const request = send(target, {method: 'GET', signal}, (response) => {
      clearTimeout(timer)
      // drain the body so the connection can be reused
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    const timer = setTimeout(() => request.destroy(new NoAnswer()), timeoutMs)
    request.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    request.end()
  })
}

function connectionError(error: unknown, timeoutMs: number): string {
  if (error instanceof NoAnswer) return `request timed out after ${formatDuration(timeoutMs)}`
  const code = (error as {code?: unknown} | undefined)?.code
  if (typeof code === 'string') return CONNECTION_ERRORS[code] ?? code
  return errorMessage(error)
}

const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  EPROTO: 'TLS handshake failed',
  ERR_INVALID_URL: 'invalid URL',
}
