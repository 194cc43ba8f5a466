// The haproxy gateway's defaults that depend on the service and on where
// gray.yaml is: used by its registration for the schema, the loader and the light status config
// (which must not load the schema library).
import path from 'node:path'
import type {HaproxyGatewayConfig} from './registration.js'

/** bind, test and reload when gray.yaml leaves them out */
export function haproxyDefaults(
  g: {type: 'haproxy'; fragment: string; socket: string; bind?: string[] | undefined; test?: string[] | undefined; reload: string[]; instances?: HaproxyGatewayConfig['instances'] | undefined},
  service: string,
): HaproxyGatewayConfig {
  return {
    type: 'haproxy',
    fragment: g.fragment,
    socket: g.socket,
    bind: g.bind ?? [`abns@gray_${service.replace(/[^A-Za-z0-9_.-]/g, '_')} accept-proxy`],
    test: g.test ?? ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg', '-f', g.fragment],
    reload: g.reload,
    ...(g.instances ? {instances: g.instances} : {}),
  }
}

/** The fragment and a unix socket relative to gray.yaml; an argv word naming the fragment as written names it resolved. */
export function haproxyPaths(g: HaproxyGatewayConfig, dir: string): HaproxyGatewayConfig {
  const fragment = path.resolve(dir, g.fragment)
  const socket = socketPath(g.socket, dir)
  const instances = g.instances?.map((i) => ({
    ...i,
    ...(i.fragment === undefined ? {} : {fragment: path.resolve(dir, i.fragment)}),
    ...(i.socket === undefined ? {} : {socket: socketPath(i.socket, dir)}),
    ...(i.test === undefined ? {} : {test: i.test.map((word) => (word === i.fragment ? path.resolve(dir, word) : word))}),
  }))
  return {...g, fragment, socket, test: g.test.map((word) => (word === g.fragment ? fragment : word)), ...(instances ? {instances} : {})}
}

function socketPath(socket: string, dir: string): string {
  return /^(ipv4|ipv6|unix)@/.test(socket) ? socket : path.resolve(dir, socket)
}

/** One instance's whole config: the gateway block with the instance's keys over it; a test argv left to default follows the instance's fragment. */
export function haproxyInstance(g: HaproxyGatewayConfig, instance: NonNullable<HaproxyGatewayConfig['instances']>[number]): HaproxyGatewayConfig {
  const {instances: _all, ...base} = g
  const {name: _name, ...over} = instance
  const fragment = over.fragment ?? base.fragment
  const test = over.test ?? base.test.map((word) => (word === base.fragment ? fragment : word))
  return {...base, ...over, fragment, test}
}
