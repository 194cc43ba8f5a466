// The haproxy gateway's defaults that depend on the service and on where
// gray.yaml is: shared by the schema, the loader and the light status config
// (which must not load the schema library).
import path from 'node:path'
import type {HaproxyGatewayConfig} from './model.js'

/** bind, test and reload when gray.yaml leaves them out */
export function haproxyDefaults(
  g: {type: 'haproxy'; fragment: string; socket: string; bind?: string[] | undefined; test?: string[] | undefined; reload: string[]},
  service: string,
): HaproxyGatewayConfig {
  return {
    type: 'haproxy',
    fragment: g.fragment,
    socket: g.socket,
    bind: g.bind ?? [`abns@gray_${service.replace(/[^A-Za-z0-9_.-]/g, '_')} accept-proxy`],
    test: g.test ?? ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg', '-f', g.fragment],
    reload: g.reload,
  }
}

/** The fragment and a unix socket relative to gray.yaml; an argv word naming the fragment as written names it resolved. */
export function haproxyPaths(g: HaproxyGatewayConfig, dir: string): HaproxyGatewayConfig {
  const fragment = path.resolve(dir, g.fragment)
  const socket = /^(ipv4|ipv6|unix)@/.test(g.socket) ? g.socket : path.resolve(dir, g.socket)
  return {...g, fragment, socket, test: g.test.map((word) => (word === g.fragment ? fragment : word))}
}
