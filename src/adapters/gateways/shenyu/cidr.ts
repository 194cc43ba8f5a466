// ShenYu matches a client IP by its text (= or regex), not by range: an IPv4
// CIDR on an octet boundary becomes a regex; any other range cannot be said.
// Shared by render() and the capabilities table, so validate and publish agree.

/** why and what, for the one sentence that refuses a range ShenYu cannot match */
export const OCTET_CIDR_EXPECTED = 'an IPv4 range ending in /8, /16, /24 or /32: ShenYu matches a client IP by its text, not by range'

/** The regex ShenYu matches the client IP against, or null when the range is not on an octet boundary. */
export function octetCidrRegex(cidr: string): string | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(8|16|24|32)$/.exec(cidr.trim())
  if (!match) return null
  const octets = match.slice(1, 5)
  const keep = Number(match[5]) / 8
  return `^${octets.slice(0, keep).join('\\.')}${keep < 4 ? `(?:\\.\\d{1,3}){${4 - keep}}` : ''}$`
}
