// `gray report` of a real run, opened in Debian's headless Chromium: what the
// DOM holds and what the screenshot shows (kept as test-artifacts/report.png).
import {copyFileSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {replay} from '../../src/core/run/state.js'
import {COLORS} from '../../src/ui/report/svg.js'
import {chromiumPath, dumpDom, screenshot} from '../support/chromium.js'
import {gray, run} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'
import {countColor, readPng} from '../support/png.js'

const CHROMIUM = chromiumPath()
const ARTIFACTS = path.resolve('test-artifacts')

describe.skipIf(!CHROMIUM && !process.env.CI)('gray report, in headless Chromium', () => {
  let live: Live
  let html: string
  let measured: number

  beforeAll(async () => {
    // step 3's bake is held for the rollback: no loaded `gray rollback` can arrive after it, no clock ends it
    live = await startLive({service: 'checkout', steps: '[{weight: 1, bake: 1s}, {weight: 10, bake: 2s}, {weight: 50, bake: 30m}, {weight: 100, bake: 1s}]'})
  }, 60_000)
  afterAll(async () => live?.stop())

  it('a run rolled back at step 3 by on-call: gray report writes one HTML file', async () => {
    expect(CHROMIUM, 'CI is set, so Chromium must be installed (apt-get install chromium)').not.toBeNull()
    const driver = gray(['start', '--version', 'v2', '--previous-version', 'v1', '--yes'], {cwd: live.dir})
    await live.until('the bake of step 3', (events) => {
      const s = replay(events)
      return s.stepIndex === 2 && s.status === 'baking' && events.filter((e) => e.type === 'gate.measured' && e.data.step === 2).length >= 3
    }, 150_000)
    const rolled = await run(['rollback', '--yes', '--reason', 'p99 latency up in eu-west <checkout>'], {cwd: live.dir})
    expect(rolled.exitCode, rolled.stderr).toBe(3)
    expect((await driver).exitCode).toBe(3)
    measured = (await live.journal()).filter((e) => e.type === 'gate.measured').length

    const r = await run(['report', '--output', 'report.html', '--json'], {cwd: live.dir})
    expect(r.exitCode, r.stderr).toBe(0)
    html = path.join(live.dir, 'report.html')
    expect(JSON.parse(r.stdout)).toMatchObject({file: html, state: 'rolled_back', version: 'v2'})
    const text = readFileSync(html, 'utf8')
    // self-contained: nothing to fetch, nothing to run
    expect(text).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|href=/i)
    expect(text.match(/https?:\/\/[^"\s<]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true)
    // three CLI processes and a run to step 3: 49 s at a load of 14 on two cores
  }, 240_000)

  it('--dump-dom: the weight chart, the gate chart with every measurement, step and rollback marks, hosts, the reason', async () => {
    const dom = await dumpDom(html)
    expect(dom).toContain('data-chart="weight"')
    const gate = dom.slice(dom.indexOf('data-chart="gate-errors"'))
    expect(gate.length).toBeGreaterThan(0)
    const marks = [...gate.slice(0, gate.indexOf('</svg>')).matchAll(/data-mark="([^"]+)"/g)].map((m) => m[1])
    expect(marks).toEqual(['step 1 · 1%', 'step 2 · 10%', 'step 3 · 50%', 'rollback'])
    expect(gate.slice(0, gate.indexOf('</svg>')).match(/<circle class="dot"/g)).toHaveLength(measured)
    expect(gate).toMatch(/class="limit"/)
    expect(dom).toMatch(/id="rollback-reason"><strong>Rolled back:<\/strong> p99 latency up in eu-west &lt;checkout&gt;/)
    const hosts = dom.slice(dom.indexOf('id="hosts"'), dom.indexOf('</table>', dom.indexOf('id="hosts"')))
    expect(hosts.match(/<td>v1<\/td>/g)).toHaveLength(3)
    expect(dom).toMatch(/data-state="rolled_back"/)
  })

  it('--screenshot: the served weight, the limit line, step marks and the rollback mark are drawn (test-artifacts/report.png)', async () => {
    mkdirSync(ARTIFACTS, {recursive: true})
    const png = path.join(live.dir, 'report.png')
    await screenshot(html, png)
    copyFileSync(png, path.join(ARTIFACTS, 'report.png'))
    const image = readPng(png)
    expect([image.width, image.height]).toEqual([1200, 900])
    // each colour belongs to one thing on the page; crisp 2px lines keep it exact
    expect(countColor(image, COLORS.served)).toBeGreaterThan(300)
    expect(countColor(image, COLORS.limit)).toBeGreaterThan(300)
    expect(countColor(image, COLORS.step)).toBeGreaterThan(100)
    expect(countColor(image, COLORS.rollback)).toBeGreaterThan(100)
    expect(countColor(image, COLORS.pass)).toBeGreaterThan(20)
  })
})
