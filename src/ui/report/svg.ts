// Inline SVG time charts for the run report: no script, no external asset.
export const COLORS = {
  served: '#0969da',
  intended: '#8c959f',
  value: '#0969da',
  limit: '#bc4c00',
  baseline: '#8250df',
  step: '#6e7781',
  rollback: '#cf222e',
  pass: '#1a7f37',
  fail: '#cf222e',
  other: '#9a6700',
  grid: '#eaeef2',
  axis: '#57606a',
} as const

export interface TimeSeries {
  label: string
  color: string
  points: Array<{t: number; v: number | null}>
  /** hold each value until the next point (weights), instead of joining points */
  stepwise?: boolean
  /** draw the series to this time after its last point */
  until?: number
  dash?: string
}

export interface Mark {
  t: number
  color: string
  label: string
}

export interface Dot {
  t: number
  v: number
  color: string
  title: string
}

export interface TimeChart {
  id: string
  title: string
  t0: number
  t1: number
  yMax: number
  yLabel: (v: number) => string
  series: TimeSeries[]
  limit?: {v: number; label: string}
  marks: Mark[]
  dots?: Dot[]
  width?: number
  height?: number
}

const M = {left: 64, right: 16, top: 14, bottom: 26}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c] as string)
}

export function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 19)
}

export function timeChart(c: TimeChart): string {
  const width = c.width ?? 1100
  const height = c.height ?? 200
  const span = Math.max(c.t1 - c.t0, 1)
  const x = (t: number) => Math.round(M.left + ((t - c.t0) / span) * (width - M.left - M.right))
  const yMax = niceCeil(c.yMax)
  const y = (v: number) => Math.round(height - M.bottom - (Math.min(Math.max(v, 0), yMax) / yMax) * (height - M.top - M.bottom))
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" data-chart="${escapeXml(c.id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(c.title)}">`,
  ]
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4
    out.push(`<line x1="${M.left}" x2="${width - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="${COLORS.grid}" shape-rendering="crispEdges"/>`)
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" class="tick">${escapeXml(c.yLabel(v))}</text>`)
  }
  for (let i = 0; i <= 5; i++) {
    const t = c.t0 + (span * i) / 5
    const anchor = i === 0 ? 'start' : i === 5 ? 'end' : 'middle'
    out.push(`<text x="${x(t)}" y="${height - 8}" text-anchor="${anchor}" class="tick">${clock(t)}</text>`)
  }
  for (const m of c.marks) {
    const mx = x(m.t)
    const rollback = m.color === COLORS.rollback
    out.push(`<line class="mark" data-mark="${escapeXml(m.label)}" x1="${mx}" x2="${mx}" y1="${M.top}" y2="${height - M.bottom}" stroke="${m.color}" stroke-width="2" ${rollback ? '' : 'stroke-dasharray="4 3" '}shape-rendering="crispEdges"/>`)
    out.push(`<text x="${mx + 4}" y="${M.top + 10}" class="mark-label" fill="${m.color}">${escapeXml(m.label)}</text>`)
  }
  if (c.limit) {
    out.push(`<line class="limit" x1="${M.left}" x2="${width - M.right}" y1="${y(c.limit.v)}" y2="${y(c.limit.v)}" stroke="${COLORS.limit}" stroke-width="2" stroke-dasharray="8 4" shape-rendering="crispEdges"/>`)
    out.push(`<text x="${width - M.right - 4}" y="${y(c.limit.v) - 5}" text-anchor="end" class="limit-label" fill="${COLORS.limit}">${escapeXml(c.limit.label)}</text>`)
  }
  for (const s of c.series) {
    const path = seriesPath(s, x, y)
    if (path) out.push(`<path class="series" data-series="${escapeXml(s.label)}" d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`)
  }
  for (const d of c.dots ?? []) {
    out.push(`<circle class="dot" cx="${x(d.t)}" cy="${y(d.v)}" r="3" fill="${d.color}"><title>${escapeXml(d.title)}</title></circle>`)
  }
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${height - M.bottom}" stroke="${COLORS.axis}" shape-rendering="crispEdges"/>`)
  out.push('</svg>')
  return out.join('\n')
}

/** The next round number at or above `v` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten), so ticks read well. */
export function niceCeil(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1
  const power = 10 ** Math.floor(Math.log10(v))
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= v * (1 - 1e-9)) as number
  return step * power
}

/** An SVG path through the points; a gap (null) lifts the pen. */
function seriesPath(s: TimeSeries, x: (t: number) => number, y: (v: number) => number): string {
  const parts: string[] = []
  let pen = false
  let lastY = 0
  for (const p of s.points) {
    if (p.v === null) {
      pen = false
      continue
    }
    const px = x(p.t)
    const py = y(p.v)
    if (!pen) parts.push(`M${px},${py}`)
    else if (s.stepwise) parts.push(`H${px}V${py}`)
    else parts.push(`L${px},${py}`)
    pen = true
    lastY = py
  }
  if (pen && s.until !== undefined && s.stepwise) parts.push(`H${x(s.until)}V${lastY}`)
  return parts.join('')
}
