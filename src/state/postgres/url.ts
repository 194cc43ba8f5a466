// The state URL as messages show it, apart from the driver so naming it never loads pg.

/** postgres://host:port/db for messages: never the user's password */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    const socket = parsed.searchParams.get('host')
    const host = parsed.host || (socket ? `[${socket}]` : 'localhost')
    return `${parsed.protocol}//${host}${parsed.pathname}`
  } catch {
    return 'the configured PostgreSQL (its URL could not be parsed)'
  }
}
