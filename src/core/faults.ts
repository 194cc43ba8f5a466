// Fault injection for gray's own tests: GRAY_FAULT names a journal point at
// which the process kills itself with SIGKILL, as a crash would.
//   GRAY_FAULT=after:host.deploy.started      the intent is on disk, the effect not yet done
//   GRAY_FAULT=before:host.deploy.succeeded   the effect is done, its confirmation not written
//   GRAY_FAULT=after:gate.measured#3          the third such event
// Unset (always, outside tests) it costs one comparison per event.

type When = 'before' | 'after'

interface FaultSpec {
  when: When
  type: string
  nth: number
}

let spec: FaultSpec | null | undefined
const seen = new Map<string, number>()

function parse(text: string | undefined): FaultSpec | null {
  const m = /^(before|after):([a-z_.]+)(?:#(\d+))?$/.exec(text?.trim() ?? '')
  return m ? {when: m[1] as When, type: m[2] as string, nth: Number(m[3] ?? 1)} : null
}

export function faultPoint(when: When, type: string): void {
  if (spec === undefined) spec = parse(process.env.GRAY_FAULT)
  if (!spec || spec.type !== type || spec.when !== when) return
  const n = (seen.get(type) ?? 0) + 1
  seen.set(type, n)
  if (n === spec.nth) process.kill(process.pid, 'SIGKILL')
}
