import {Flags} from '@oclif/core'

import {parseDuration} from '../core/config/values.js'
import {ConfigError} from '../core/errors.js'
import {Agent, DEFAULT_LEASE_TTL_MS, loadAgentContexts, type AgentLogLine} from '../services/agent.js'
import {parseListen, serveAgent} from '../services/agent-http.js'
import {closeState} from '../services/context.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'

export default class AgentCommand extends GrayCommand {
  static override summary = 'Drive the runs of these services for as long as it runs: take runs handed to it or whose driver died, guard every wait.'
  static override description = `A long-running driver (run it under systemd: templates/systemd/gray-agent.service). For each service it
watches the state and takes, as an agent, every unfinished run whose driver lease is free or lapsed: a run
\`gray start\` handed to it, or one whose driver died. It keeps measuring the gates while a step waits for
\`gray promote\` or the run is paused, rolls back on a failing gate, and acts on promote, pause, resume and
rollback within a second. Several agents on different machines share one PostgreSQL: each run is driven by
exactly one, and when it dies another takes the run over after the lease TTL.

Every config is checked before anything starts (one error, exit 2). SIGTERM or SIGINT: no new run is taken,
each run being driven is handed back at its next safe point (its lease released, so another agent takes it
over at once), and the agent exits 0. /healthz and /metrics (Prometheus text) are served on --listen.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> agent -c shop.yaml -c cart.yaml',
    '<%= config.bin %> agent -c /etc/gray/services/ --log json --listen 0.0.0.0:9465',
    'GRAY_DATABASE_URL=postgres://gray@db:5432/gray <%= config.bin %> agent -c gray.yaml --lease-ttl 10s',
  ]
  static override flags = {
    config: Flags.string({
      char: 'c',
      summary: 'A gray.yaml, or a directory whose *.yaml files are the services to drive; repeat for more.',
      multiple: true,
      env: 'GRAY_CONFIG',
      default: ['gray.yaml'],
      helpGroup: 'GLOBAL',
    }),
    'lease-ttl': Flags.string({summary: 'How long a silent agent keeps its runs before another takes them over (at least 2s).', default: '5s'}),
    log: Flags.string({summary: 'Log lines as text, or as JSON objects (time, level, service, run, message); --json is --log json.', options: ['text', 'json'], default: 'text'}),
    listen: Flags.string({summary: 'Where /healthz and /metrics are served (host:port), or off.', default: '127.0.0.1:9465'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(AgentCommand)
    const ttl = parseDuration(flags['lease-ttl'])
    if (ttl === undefined || ttl < 2_000 || ttl > 3_600_000) throw new ConfigError(`--lease-ttl ${flags['lease-ttl']} must be a duration from 2s to 1h, like 5s`)
    const listen = parseListen(flags.listen)
    const json = flags.log === 'json' || this.jsonEnabled()
    const write = (line: AgentLogLine) => {
      const text = json
        ? JSON.stringify(line)
        : `${line.time} ${line.level.padEnd(5)} ${line.service ?? 'agent'}${line.run ? ` ${line.run}` : ''}: ${line.message}`
      process.stdout.write(`${text}\n`)
    }
    const log = (level: AgentLogLine['level'], message: string) => write({time: new Date().toISOString(), level, message})

    const contexts = await loadAgentContexts(flags.config)
    const agent = new Agent({contexts, leaseTtlMs: ttl ?? DEFAULT_LEASE_TTL_MS, log: write})
    const http = listen ? await serveAgent(listen, {health: () => agent.health(), metrics: () => agent.metrics.render()}) : null
    await agent.start()
    log(
      'info',
      `gray agent ${agent.holder.user}@${agent.holder.host} (pid ${agent.holder.pid}) drives ${agent.services.join(', ')}; lease TTL ${ttl / 1000} s; ${http ? `/healthz and /metrics on http://${http.address}` : 'no /metrics (--listen off)'}`,
    )

    const signal = await new Promise<NodeJS.Signals>((done) => {
      process.once('SIGTERM', () => done('SIGTERM'))
      process.once('SIGINT', () => done('SIGINT'))
    })
    // a second signal while stopping: leave now (the leases lapse after their TTL)
    const force = (again: NodeJS.Signals) => {
      log('warn', `${again} again: exiting without waiting; the leases of runs being driven lapse in ${ttl / 1000} s`)
      process.exit(1)
    }
    process.once('SIGTERM', force)
    process.once('SIGINT', force)
    log('info', `${signal}: taking no new run; each run being driven is handed back at its next safe point`)
    await agent.stop()
    await http?.close()
    await closeState()
    log('info', 'stopped')
    // a drive left behind (asleep in a bake) can write nothing more, but its timers would keep the process alive
    process.exit(0)
  }
}
