// The second process of the load test: keeps `concurrency` keep-alive request
// loops running against nginx until the parent says stop, then reports.
// A GET whose connection was closed before any byte of an answer is sent
// again on a new connection, at most twice (RFC 9112 §9.3.1 allows it for
// idempotent requests): an nginx worker leaving after a reload closes the
// connections it holds without a request in progress. Those are counted as resent.
import {Agent, request} from 'node:http'

const [url, concurrencyText] = process.argv.slice(2)
const agent = new Agent({keepAlive: true, maxSockets: Number(concurrencyText)})
const stats = {ok: 0, failed: 0, resent: 0, gray: 0, stable: 0, failures: []}
let running = true
let n = 0

function once(uid, fresh = false) {
  return new Promise((resolve, reject) => {
    const req = request(url, {agent: fresh ? false : agent, headers: {cookie: `uid=load${uid}`}}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({status: res.statusCode, body}))
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.on('error', (error) => reject(Object.assign(error, {unanswered: error.code === 'ECONNRESET' || error.message === 'socket hang up'})))
    req.end()
  })
}

async function one(uid) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(uid, attempt > 0)
    } catch (error) {
      if (!error.unanswered || attempt >= 2) throw error
      stats.resent++
    }
  }
}

async function loop() {
  while (running) {
    const uid = n++ % 1000
    try {
      const {status, body} = await one(uid)
      if (status === 200) {
        stats.ok++
        const cohort = JSON.parse(body).cohort
        stats[cohort] = (stats[cohort] ?? 0) + 1
        if (stats.ok === 200) process.send?.({type: 'ready'})
      } else {
        stats.failed++
        if (stats.failures.length < 5) stats.failures.push(`HTTP ${status}`)
      }
    } catch (error) {
      stats.failed++
      if (stats.failures.length < 5) stats.failures.push(String(error.message))
    }
  }
}

const loops = Array.from({length: Number(concurrencyText)}, loop)
process.on('message', async (message) => {
  if (message !== 'stop') return
  running = false
  await Promise.all(loops)
  agent.destroy()
  process.send?.({type: 'stats', stats}, () => process.exit(0))
})
