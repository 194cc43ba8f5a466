#!/usr/bin/env node
// The demo's deploy command: asks a sample service to switch version, then
// waits until its /healthz reports that version.
//
//   node deploy.mjs <address> <version>
/* global fetch */

const TIMEOUT_MS = 10_000
const POLL_MS = 100

async function main([address, version]) {
  if (!address || !version) throw new Error('usage: node deploy.mjs <address> <version>')
  const base = `http://${address}`
  console.log(`deploying ${version} to ${address}`)
  const answer = await fetch(`${base}/admin/deploy?version=${encodeURIComponent(version)}`, {
    method: 'POST',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  await answer.arrayBuffer()
  if (!answer.ok) throw new Error(`${address} refused the deploy: HTTP ${answer.status}`)

  const deadline = Date.now() + TIMEOUT_MS
  let last = 'no answer'
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    try {
      const health = await fetch(`${base}/healthz`, {signal: AbortSignal.timeout(2000)})
      const body = await health.json().catch(() => ({}))
      last = `HTTP ${health.status}, version ${body.version ?? 'unknown'}`
      if (health.status === 200 && body.version === version) {
        console.log(`${address} runs ${version}`)
        return
      }
    } catch (error) {
      last = reason(error)
    }
  }
  throw new Error(`${address} did not report ${version} within ${TIMEOUT_MS / 1000}s (last: ${last})`)
}

function reason(error) {
  const cause = error.cause?.code ?? error.cause?.message
  return cause ? `${error.message} (${cause})` : error.message
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`deploy failed: ${reason(error)}`)
  process.exit(1)
})
