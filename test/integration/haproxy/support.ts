// A real HAProxy running gray's fragment, and the Runtime API calls tests use
// to see what HAProxy itself does (which worker answers, what it loaded).
import {HaproxyGateway, type HaproxyTimings} from '../../../src/adapters/gateways/haproxy/index.js'
import {runtimeCommand} from '../../../src/adapters/gateways/haproxy/runtime.js'
import type {Policy} from '../../../src/core/ports.js'
import {startHaproxy, type HaproxyInstance} from '../../support/haproxy.js'
import {freePort} from '../../support/nginx.js'
import {SERVICE} from '../nginx/support.js'

export async function haproxyFor(initial: Policy): Promise<HaproxyInstance> {
  const port = await freePort()
  return startHaproxy({
    port,
    fragment: (fragmentPath) => {
      const gateway = gatewayAt(fragmentPath, port, 'unused')
      const text = gateway.render(initial)
      // render() ends with the state map as comments: the user's first map file
      const map = text
        .slice(text.indexOf('# state map '))
        .split('\n')
        .slice(1)
        .filter((line) => line.startsWith('#   '))
        .map((line) => `${line.slice(4)}\n`)
        .join('')
      return {fragment: text, map, mapPath: gateway.mapPath}
    },
  })
}

export function gatewayAt(fragment: string, port: number, socket: string, argv: {test?: string[]; reload?: string[]} = {}, timings: Partial<HaproxyTimings> = {}): HaproxyGateway {
  return new HaproxyGateway(
    {type: 'haproxy', fragment, socket, bind: [`127.0.0.1:${port}`], test: argv.test ?? ['true'], reload: argv.reload ?? ['true']},
    SERVICE,
    timings,
  )
}

export function gatewayFor(instance: HaproxyInstance, argv: {test?: string[]; reload?: string[]} = {}): HaproxyGateway {
  return gatewayAt(instance.fragmentPath, instance.port, instance.socket, {test: argv.test ?? instance.testArgv, reload: argv.reload ?? instance.reloadArgv})
}

/** The pid of the worker that answers on the Runtime API: it changes exactly when HAProxy reloads. */
export async function workerPid(instance: HaproxyInstance): Promise<number> {
  const info = await runtimeCommand(instance.socket, 'show info', 2000)
  return Number(/^Pid: (\d+)$/m.exec(info)?.[1])
}
