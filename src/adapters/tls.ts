// HTTPS certificate checks stay on unless the user turns them off with
// --insecure (or GRAY_INSECURE_TLS=1); every command that runs so warns, once.
import {Agent} from 'node:https'

let agent: Agent | undefined
let warned = false

function tlsChecksOff(): boolean {
  const value = process.env.GRAY_INSECURE_TLS
  return value === '1' || value === 'true'
}

/** The https agent every adapter's HTTP client uses. */
export function httpsAgent(): Agent {
  if (!agent) {
    const off = tlsChecksOff()
    if (off && !warned) {
      warned = true
      process.stderr.write('gray: warning: HTTPS certificate checks are OFF (--insecure); anyone on the path can read and change what gray sends\n')
    }
    agent = new Agent({keepAlive: true, rejectUnauthorized: !off})
  }
  return agent
}

const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
])

/** A sentence for a certificate the TLS check refused, or null for other errors. */
export function certificateProblem(code: string | undefined): string | null {
  if (!code || !CERT_CODES.has(code)) return null
  return `its HTTPS certificate is not trusted (${code}); fix the certificate or trust its CA (NODE_EXTRA_CA_CERTS), or pass --insecure`
}
