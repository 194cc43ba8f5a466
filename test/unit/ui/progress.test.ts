// The run's live view: numbers for people, one block, true marks for the steps.
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'

import {safeOutput} from '../../../src/core/redact.js'
import {endLines, gateNumber, gateStyles, LiveProgress, plural, renderBlock} from '../../../src/ui/progress.js'
import {check, healthy} from '../../support/fakes.js'
import {harness} from '../../support/harness.js'

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')

describe('numbers for people', () => {
  it('prints whole samples with separators, singular passes, ratios as percentages', () => {
    expect(plural(2813.3347777777776, 'sample', 'samples')).toBe('2,813 samples')
    expect(plural(1, 'pass', 'passes')).toBe('1 pass')
    expect(plural(0, 'pass', 'passes')).toBe('0 passes')
    expect(gateNumber(0.158, true)).toBe('15.8%')
    expect(gateNumber(0.05, true)).toBe('5%')
    expect(gateNumber(0.158, false)).toBe('0.158')
    expect(gateStyles([check(), check({name: 'p99', errors: undefined, total: undefined, query: 'q', max: 0.5})])).toEqual({errors: {ratio: true, side: '≤'}, p99: {ratio: false, side: '≤'}})
  })
})

describe('the live block', () => {
  it('shows the step, weights, hosts, each gate against its limit, and the last events, within the width', async () => {
    const h = harness({gates: {intervalMs: 30_000, windowMs: 300_000, checks: [check()]}})
    h.source.script = () => ({...healthy(0.0023, 2813.3347777777776)})
    await h.begin()
    const driver = h.driver()
    const block: string[][] = []
    const stop = driver.drive()
    // look at the run in the middle of step 2's bake
    h.clock.at(400_000, () => void block.push(renderBlock(driver.state(), {width: 100, now: h.clock.now(), styles: gateStyles(h.config.gates!.checks), events: [['10:06:40', 'step 2 started: 10%', false]]})))
    await h.clock.run(stop)
    const lines = (block[0] ?? []).map(plain)
    expect(lines[0]).toMatch(/^▶ Step 2\/4 · 10% to gray · baking, ends in \d+m\d\ds$/)
    expect(lines[1]).toBe('  weight  intended 10%  served 10%')
    expect(lines[2]).toBe('  hosts   v2: g1 · v1: s1, s2, s3')
    expect(lines[3]).toMatch(/^ {2}gates {3}errors pass +0\.23% ≤ 1% +[▁▂▃▄▅▆▇█ ]+ \d+ pass(es)? · 2,813 samples$/)
    expect(lines[4]).toBe('  events  10:06:40 step 2 started: 10%')
    for (const l of block[0] ?? []) expect([...plain(l)].length).toBeLessThanOrEqual(100)
  })

  it('marks passed steps passed and the rest "not reached" (or skipped after a rollback), never "✔ not reached"', async () => {
    const h = harness()
    h.source.script = () => (h.state().stepIndex === 2 ? healthy(0.05) : healthy())
    const out = await h.start()
    const lines = endLines(out.state, 0).map(plain)
    expect(lines[0]).toMatch(/^✔ Deploy v2/)
    expect(lines[1]).toMatch(/^✔ Step 1\/4/)
    expect(lines[2]).toMatch(/^✔ Step 2\/4/)
    expect(lines[3]).toMatch(/^✖ Step 3\/4 · 50% to gray · rolled back: gate errors failed/)
    expect(lines[4]).toMatch(/^· Step 4\/4 · 100% to gray · skipped: rolled back$/)
    expect(lines.join('\n')).not.toMatch(/✔.*not reached/)
  })

  it('redraws one block in place: the cursor goes back over the last block only', async () => {
    const out = Object.assign(new PassThrough(), {columns: 100, rows: 40, isTTY: true}) as unknown as NodeJS.WriteStream
    let written = ''
    out.write = ((chunk: string) => ((written += chunk), true)) as typeof out.write
    let now = Date.parse('2026-11-22T10:00:00Z')
    const signals = ['SIGINT', 'SIGTERM', 'exit'].map((s) => process.listenerCount(s))
    const view = new LiveProgress(out, {}, () => now)
    const h = harness()
    const driver = h.driver()
    await h.begin()
    const frames: string[] = []
    const real = driver.drive()
    await h.clock.run(real)
    // feed it the finished run's events one by one, drawing after each
    for (const e of h.journal.list.slice(0, 15)) {
      view.observe(e, h.state())
      now += 1000
      // wait for the frame this event asked for (drawn on a short timer), however busy the machine
      for (let i = 0; i < 1000 && written === ''; i++) await new Promise((r) => setTimeout(r, 10))
      frames.push(written)
      written = ''
    }
    await view.end(h.state())
    const drawnFrames = frames.filter(Boolean)
    expect(drawnFrames).toHaveLength(15)
    // eslint-disable-next-line no-control-regex
    for (const f of drawnFrames.slice(1)) expect(f).toMatch(/^\r\u001b\[\d+A\u001b\[J/)
    // every escape it draws with passes the output door unchanged (cursor up, erase, colours)
    for (const f of drawnFrames) expect(safeOutput(f, [])).toBe(f)
    expect(written).toContain('✔ Complete')
    // it only watches: no signal or exit handler of its own
    expect(['SIGINT', 'SIGTERM', 'exit'].map((s) => process.listenerCount(s))).toEqual(signals)
  })
})
