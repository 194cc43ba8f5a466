// host:port as gray.yaml writes listen and admin addresses.

export interface ListenAddress {
  host: string
  port: number
}

export function parseListenAddress(text: string, what: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  if (!match || port > 65_535) throw new Error(`The sandbox ${what} address "${text}" is not host:port (port 0 picks a free one).`)
  return {host: (match[1] ?? match[2]) as string, port}
}

export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}
