// Asks nginx which policy it has loaded, over the unix socket the include file
// makes nginx listen on. Only workers started from that file can answer it.
import {request} from 'node:http'
import type {AppliedPolicy} from '../../../core/ports.js'
import {STATUS_PATH} from './render.js'

export type ServedAnswer = {kind: 'served'; service: string; policy: AppliedPolicy; worker: number | null} | {kind: 'absent'} | {kind: 'invalid'; body: string}

/** Resolves 'absent' when nothing listens on the socket; rejects on timeout or other socket errors. */
export function askServed(socketPath: string, timeoutMs: number, signal?: AbortSignal): Promise<ServedAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({socketPath, path: STATUS_PATH, method: 'GET', timeout: timeoutMs, signal, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        resolve(parseAnswer(res.statusCode ?? 0, body))
      })
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})))
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve({kind: 'absent'})
      else reject(error)
    })
    req.end()
  })
}

function parseAnswer(status: number, body: string): ServedAnswer {
  if (status !== 200) return {kind: 'invalid', body: `HTTP ${status}`}
  try {
    const data = JSON.parse(body) as Record<string, unknown>
    const {service, revision, mode, weightBp, worker} = data
    if (typeof service === 'string' && typeof revision === 'string' && (mode === 'split' || mode === 'plain') && typeof weightBp === 'number') {
      return {kind: 'served', service, policy: {revision, mode, weightBp}, worker: typeof worker === 'number' ? worker : null}
    }
  } catch {
    // falls through to invalid
  }
  return {kind: 'invalid', body: body.slice(0, 200)}
}
