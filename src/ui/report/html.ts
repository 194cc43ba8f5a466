// The run report: one self-contained HTML file (inline CSS and SVG, no script,
// nothing fetched), readable offline and attachable to a ticket or a CI job.
import {fmt} from '../../core/gates/judge.js'
import {shown} from '../../core/redact.js'
import type {GateSeries, ReportModel} from '../../core/report.js'
import {clock, COLORS, escapeXml, timeChart, type Dot, type Mark} from './svg.js'

const STATE_COLOR: Record<string, string> = {completed: COLORS.pass, rolled_back: COLORS.rollback, rolling_back: COLORS.rollback, failed: COLORS.rollback}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:24px auto;max-width:1120px;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a}.state{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;font-size:13px}
.reason{border-left:4px solid ${COLORS.rollback};background:#ffebe9;padding:8px 12px;margin:12px 0}
.warning{border-left:4px solid ${COLORS.other};background:#fff8c5;padding:6px 12px;margin:6px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{color:#57606a;font-weight:600}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
tr.loud td{color:${COLORS.rollback};font-weight:600}
svg{display:block;max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:${COLORS.axis}}
svg .mark-label{font-size:11px}svg .limit-label{font-weight:600}
.legend span{margin-right:16px;font-size:12px;color:#57606a}.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
.gate h3{font-size:14px;margin:16px 0 2px}.gate p{margin:0 0 4px;color:#57606a;font-size:12px}
`

const LOUD = new Set(['rollback.started', 'run.rolled_back', 'run.failed', 'gateway.publish.failed', 'host.deploy.failed', 'rollback.warning'])

export function renderReport(m: ReportModel): string {
  const text = (s: string) => escapeXml(shown(s))
  const marks = stepMarks(m)
  const t1 = Math.max(m.endedAt, m.startedAt + 1000)
  const duration = Math.round((m.endedAt - m.startedAt) / 1000)
  const body: string[] = []
  body.push(`<h1>${text(m.service)} ${text(m.previousVersion ?? '?')} → ${text(m.version)}</h1>`)
  body.push(
    `<p class="meta"><span class="state" data-state="${m.state}" style="background:${STATE_COLOR[m.state] ?? COLORS.other}">${m.state.replace('_', ' ')}</span> run ${text(m.runId)} · started ${new Date(m.startedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC · ${duration}s · ${new Set(m.steps.map((s) => s.index)).size} of ${m.stepCount} steps reached</p>`,
  )
  if (m.rollback || (m.reason && m.state !== 'completed')) {
    const by = m.rollback ? ` (by ${text(m.rollback.by)} at ${clock(m.rollback.t)})` : ''
    body.push(`<div class="reason" id="rollback-reason"><strong>${m.rollback ? 'Rolled back' : 'Reason'}:</strong> ${text(m.rollback?.reason ?? m.reason ?? '')}${by}</div>`)
  }
  for (const w of m.warnings) body.push(`<div class="warning">${text(w)}</div>`)

  body.push('<h2>Traffic to gray</h2>')
  body.push(`<div class="legend"><span><i style="background:${COLORS.served}"></i>served (confirmed by the gateway)</span><span><i style="background:${COLORS.intended}"></i>intended</span><span><i style="background:${COLORS.step}"></i>step start</span>${m.rollback ? `<span><i style="background:${COLORS.rollback}"></i>rollback</span>` : ''}</div>`)
  body.push(
    timeChart({
      id: 'weight',
      title: 'Percent of traffic sent to gray over time',
      t0: m.startedAt,
      t1,
      yMax: 100,
      yLabel: (v) => `${fmt(v)}%`,
      marks,
      series: [
        {label: 'intended', color: COLORS.intended, stepwise: true, dash: '5 4', until: t1, points: m.intended.map((p) => ({t: p.t, v: p.weight}))},
        {label: 'served', color: COLORS.served, stepwise: true, until: t1, points: [{t: m.startedAt, v: 0}, ...m.served.map((p) => ({t: p.t, v: p.weight}))]},
      ],
    }),
  )

  body.push('<h2>Gates</h2>')
  if (m.gates.length === 0) body.push('<p class="meta">No gates were configured: nothing but the bake times guarded this run.</p>')
  body.push(`<div class="legend"><span><i style="background:${COLORS.value}"></i>measured value</span><span><i style="background:${COLORS.limit}"></i>limit</span><span><i style="background:${COLORS.pass}"></i>pass</span><span><i style="background:${COLORS.fail}"></i>fail</span><span><i style="background:${COLORS.other}"></i>no data / error</span></div>`)
  for (const g of m.gates) body.push(gateSection(g, m.startedAt, t1, marks))

  body.push('<h2>Hosts</h2>')
  body.push('<table id="hosts"><tr><th>host</th><th>address</th><th>pool</th><th>version</th><th>health</th></tr>')
  for (const h of m.hosts) {
    const health = h.healthy === null ? 'unknown' : h.healthy ? 'healthy' : 'unhealthy'
    body.push(`<tr><td>${text(h.name)}</td><td>${text(h.address)}</td><td>${h.pool}${h.converted ? ' (converted)' : ''}</td><td>${text(h.version ?? '?')}</td><td>${health}</td></tr>`)
  }
  body.push('</table>')

  const measured = m.events.filter((e) => e.type === 'gate.measured').length
  const listed = m.events.filter((e) => e.type !== 'gate.measured' || /: fail /.test(e.summary))
  body.push(`<h2>Events</h2><p class="meta">${m.events.length} journal events; the ${measured} gate measurements are drawn above and only failing ones are listed.</p>`)
  body.push('<table id="events"><tr><th>#</th><th>time</th><th>event</th><th>by</th></tr>')
  for (const e of listed) {
    body.push(`<tr${LOUD.has(e.type) ? ' class="loud"' : ''} data-type="${e.type}"><td class="num">${e.seq}</td><td class="num">${clock(e.t)}</td><td>${text(e.summary)}</td><td>${text(e.actor)}</td></tr>`)
  }
  body.push('</table>')
  body.push(`<p class="meta">Written by gray from the journal of run ${text(m.runId)}.</p>`)

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${text(m.service)} ${text(m.version)}: ${m.state.replace('_', ' ')} — gray run report</title>
<style>${CSS}</style></head>
<body>
${body.join('\n')}
</body></html>
`
}

function stepMarks(m: ReportModel): Mark[] {
  const marks: Mark[] = m.steps.map((s) => ({t: s.t, color: COLORS.step, label: `step ${s.index + 1} · ${fmt(s.weight)}%`}))
  if (m.rollback) marks.push({t: m.rollback.t, color: COLORS.rollback, label: 'rollback'})
  return marks
}

function gateSection(g: GateSeries, t0: number, t1: number, marks: Mark[]): string {
  const limit = g.points.findLast((p) => p.limit !== null)?.limit ?? null
  const values = g.points.flatMap((p) => (p.value === null ? [] : [p.value]))
  const yMax = Math.max(...values, limit ?? 0, 0) * 1.1 || 1
  const dots: Dot[] = g.points.map((p) => ({
    t: p.t,
    v: p.value ?? 0,
    color: p.verdict === 'pass' ? COLORS.pass : p.verdict === 'fail' ? COLORS.fail : COLORS.other,
    title: `${clock(p.t)} ${p.verdict}: ${p.reason}`,
  }))
  const fails = g.points.filter((p) => p.verdict === 'fail').length
  const side = g.direction === 'min' ? 'min' : g.direction === 'max' ? 'max' : 'limit'
  const summary = `${g.points.length} measurements, ${g.points.filter((p) => p.verdict === 'pass').length} pass, ${fails} fail; ${side} ${limit === null ? '-' : fmt(limit)}`
  return `<div class="gate" data-gate="${escapeXml(g.name)}"><h3>${escapeXml(g.name)}</h3><p>${escapeXml(summary)}</p>
${timeChart({
  id: `gate-${g.name}`,
  title: `${g.name}: measured value against its limit`,
  t0,
  t1,
  yMax,
  yLabel: (v) => fmt(Number(v.toPrecision(4))),
  marks,
  height: 170,
  limit: limit === null ? undefined : {v: limit, label: `${side} ${fmt(limit)}`},
  series: [{label: 'value', color: COLORS.value, points: g.points.map((p) => ({t: p.t, v: p.value}))}],
  dots,
})}</div>`
}
