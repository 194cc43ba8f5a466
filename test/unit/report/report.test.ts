// The run report drawn from a journal: a run the gates rolled back, rendered as
// one self-contained HTML page whose charts carry every measurement and step.
import {describe, expect, it} from 'vitest'

import {renderReport} from '../../../src/ui/report/html.js'
import {reportModel} from '../../../src/core/report.js'
import {niceCeil} from '../../../src/ui/report/svg.js'
import {harness} from '../../support/harness.js'
import {healthy} from '../../support/fakes.js'

async function rolledBackRun() {
  const h = harness()
  // the new version breaks once it takes 10%: the gate fails and rolls the run back
  h.source.script = (req) => (req.cohort === 'gray' && h.state().stepIndex >= 1 ? healthy(0.2) : healthy())
  const outcome = await h.start()
  return {h, outcome}
}

describe('run report', () => {
  it('models steps, weights, every gate measurement and the rollback from the journal', async () => {
    const {h, outcome} = await rolledBackRun()
    expect(outcome.state.status).toBe('rolled_back')
    const events = h.journal.events()
    const m = reportModel(events, h.state(), {errors: 'max'})
    expect(m.steps.map((s) => s.weight)).toEqual([1, 10])
    // weight 0 at once, then the plain policy once the hosts are reverted
    // the gray pool drained before its deploy, the steps, weight 0 at once, then the plain policy
    expect(m.served.map((p) => p.weight)).toEqual([0, 1, 10, 0, 0])
    expect(m.gates).toHaveLength(1)
    expect(m.gates[0]!.points).toHaveLength(events.filter((e) => e.type === 'gate.measured').length)
    expect(m.gates[0]!.points.filter((p) => p.verdict === 'fail')).toHaveLength(2)
    expect(m.rollback?.reason).toMatch(/gate errors failed/)
  })

  it('renders one self-contained page: charts with step marks, the limit, fail dots, hosts and the reason', async () => {
    const {h} = await rolledBackRun()
    const html = renderReport(reportModel(h.journal.events(), h.state(), {errors: 'max'}))
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(/i)
    const gate = html.slice(html.indexOf('data-chart="gate-errors"'), html.indexOf('</svg>', html.indexOf('data-chart="gate-errors"')))
    expect([...gate.matchAll(/data-mark="([^"]+)"/g)].map((m) => m[1])).toEqual(['step 1 · 1%', 'step 2 · 10%', 'rollback'])
    expect(gate).toContain('class="limit"')
    expect(gate.match(/fill="#cf222e"><title>[^<]* fail:/g)).toHaveLength(2)
    expect(html).toMatch(/id="rollback-reason"><strong>Rolled back:<\/strong> gate errors failed/)
    expect(html.match(/<tr><td>(g1|s1|s2|s3)<\/td>/g)).toHaveLength(4)
    expect(html).toContain('2 of 4 steps reached')
  })

  it('escapes what the journal says', async () => {
    const h = harness()
    await h.begin()
    h.inbox.post('rollback', {reason: '<img src=x onerror=alert(1)> & more'})
    await h.clock.run(h.driver().drive())
    const html = renderReport(reportModel(h.journal.events(), h.state()))
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; more')
    expect(html).not.toContain('<img')
  })

  it('rounds a chart top up to a number that reads well', () => {
    expect([niceCeil(0.055), niceCeil(100), niceCeil(0.0011), niceCeil(7), niceCeil(0)]).toEqual([0.06, 100, 0.0012, 8, 1])
  })
})
