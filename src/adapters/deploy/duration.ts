/** A duration as people read it in one-line messages: 300ms, 60s, 1.5s, 2m, 2m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000 || ms % 1000 !== 0) return `${Number((ms / 1000).toFixed(1))}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = (ms % 60_000) / 1000
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`
}
