// User traffic: decide the cohort, pick a host round-robin, proxy.
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {ProxyServer} from 'httpxy'
import {errorMessage} from '../../../core/errors.js'
import {decide, requestViewOf} from '../../../core/policy/decide.js'
import type {PolicyStore} from './store.js'
import {pickHost} from './store.js'

/** Response header naming the cohort that served the request (a debugging aid). */
export const ROUTE_HEADER = 'x-gray-route'

export function dataPlane(store: PolicyStore, proxy: ProxyServer) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const state = store.current
    if (!state) {
      sendText(res, 503, 'The sandbox gateway has no policy yet; publish one with gray (PUT /v1/policy/<service> on its admin address).')
      return
    }
    const {policy} = state
    const {target} = decide(policy, requestViewOf(req))
    const host = pickHost(state, target)
    if (!host) {
      sendText(res, 503, `The sandbox gateway has no ${target} hosts in policy revision ${policy.revision}.`)
      return
    }
    if (policy.tag) {
      const name = policy.tag.header.toLowerCase()
      // stable requests must not carry a tag a client forged
      if (target === 'gray') req.headers[name] = policy.tag.value
      else delete req.headers[name]
    }
    res.setHeader(ROUTE_HEADER, target)
    proxy.web(req, res, {target: `http://${host.address}`}).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      sendText(res, 502, `The ${target} upstream ${host.name} (${host.address}) failed: ${upstreamProblem(error)}.`)
    })
  }
}

function upstreamProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code ?? errorMessage(error)
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1})
  res.end(`${text}\n`)
}
