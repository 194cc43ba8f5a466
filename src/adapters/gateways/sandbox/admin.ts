// The control plane: PUT/GET /v1/policy/:service and /healthz.
import type {IncomingMessage, ServerResponse} from 'node:http'
import {errorMessage} from '../../../core/errors.js'
import {fromDocument, PolicyDocumentError} from '../../../core/policy/document.js'
import type {Policy} from '../../../core/ports.js'
import type {PolicyStore} from './store.js'

const MAX_BODY_BYTES = 1024 * 1024
const POLICY_PATH = /^\/v1\/policy\/([^/]+)\/?$/

export interface AdminOptions {
  /** persists a policy before it is swapped in; a failure keeps the old policy */
  persist?: (policy: Policy) => Promise<void>
}

export function adminPlane(store: PolicyStore, options: AdminOptions = {}) {
  let applying: Promise<unknown> = Promise.resolve()
  // one PUT at a time, so the state file and the served policy agree
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = applying.then(work, work)
    applying = result.catch(() => undefined)
    return result
  }

  async function put(req: IncomingMessage, res: ServerResponse, service: string): Promise<void> {
    let body: unknown
    try {
      body = JSON.parse(await readBody(req))
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendJson(res, 413, {error: 'The policy document is larger than 1 MiB.'})
      return sendJson(res, 400, {error: 'The request body is not a JSON policy document.'})
    }
    let policy: Policy
    try {
      policy = fromDocument(body)
    } catch (error) {
      if (error instanceof PolicyDocumentError) return sendJson(res, 400, {error: error.message, field: error.field})
      throw error
    }
    if (policy.service !== service) {
      return sendJson(res, 400, {error: `The document is for service "${policy.service}" but was sent to /v1/policy/${service}.`})
    }
    await serially(async () => {
      if (store.service !== null && store.service !== policy.service) {
        return sendJson(res, 409, {error: `This sandbox gateway serves service "${store.service}", not "${policy.service}"; start another one for it.`})
      }
      try {
        await options.persist?.(policy)
      } catch (error) {
        return sendJson(res, 500, {error: `The sandbox gateway could not save the policy: ${errorMessage(error)}.`})
      }
      const applied = store.swap(policy)
      sendJson(res, 200, {revision: applied.policy.revision, weightBasisPoints: applied.policy.weightBp, mode: applied.policy.mode})
    })
  }

  function get(res: ServerResponse, service: string): void {
    const state = store.current
    if (!state || state.policy.service !== service) {
      return sendJson(res, 404, {error: `The sandbox gateway has no policy for service "${service}".`})
    }
    sendJson(res, 200, state.document)
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] as string
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notAllowed(res, 'GET, HEAD')
      return sendJson(res, 200, {ok: true, service: store.service, revision: store.current?.policy.revision ?? null})
    }
    const match = POLICY_PATH.exec(path)
    if (!match) return sendJson(res, 404, {error: `Nothing at ${path}; the sandbox admin API serves /v1/policy/<service> and /healthz.`})
    let service: string
    try {
      service = decodeURIComponent(match[1] as string)
    } catch {
      return sendJson(res, 400, {error: 'The service name in the path is not valid URL encoding.'})
    }
    if (req.method === 'GET' || req.method === 'HEAD') return get(res, service)
    if (req.method !== 'PUT') return notAllowed(res, 'GET, HEAD, PUT')
    put(req, res, service).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, {error: `The sandbox gateway failed: ${errorMessage(error)}.`})
    })
  }
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge())
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow)
  sendJson(res, 405, {error: `Method not allowed here; use ${allow}.`})
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text)})
  res.end(text)
}
