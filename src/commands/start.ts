import {Flags} from '@oclif/core'

import {ExitCode} from '../core/errors.js'
import {checkVersion} from '../core/version.js'
import {loadContext} from '../services/context.js'
import {startRun} from '../services/start.js'
import {statusOf, type StatusDocument} from '../services/status.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {adoptConfigFlag} from '../ui/config-flags.js'
import {canPrompt, confirm} from '../ui/interactive.js'
import {interruptAsk, interruptNote} from '../ui/interrupt.js'
import {createProgress, ctrlCHint} from '../ui/progress.js'
import {describeEnd} from '../ui/run-result.js'
import {detachFlag, GUARDED_WAITS_HELP} from '../ui/state-flags.js'

export default class Start extends GrayCommand {
  static override summary = 'Begin a run of a new version and drive it to the end, a rollback, or a step that waits.'
  static override description = `Deploys the version to the gray pool, publishes each step's weight, bakes while the gates are measured, and advances.
If this service has an unfinished run of the same version (its driver died), start takes it over where the journal says it stands.
On a terminal, Ctrl-C asks: keep going, roll back now, or pause and leave. A second Ctrl-C, SIGTERM, or Ctrl-C without a terminal pauses the run at its current weight once the step in progress settles, and exits 4; \`gray resume\` goes on.
${GUARDED_WAITS_HELP}

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> start --version v2',
    '<%= config.bin %> start --version v2 --previous-version v1 --yes --json',
    '<%= config.bin %> start --version v2 --yes --detach',
  ]
  static override flags = {
    version: Flags.string({summary: 'The version to roll out.', required: true}),
    'previous-version': Flags.string({summary: 'The version to roll back to, when no earlier run recorded it.'}),
    ...detachFlag,
    ...adoptConfigFlag,
  }

  async run(): Promise<StatusDocument & {runId?: string; driver?: {kind: string; host: string; pid: number; user: string}}> {
    const {flags} = await this.parse(Start)
    checkVersion(flags.version, '--version')
    const ctx = await loadContext(flags.config)
    const json = this.jsonEnabled()
    await confirm(`Start rolling out ${ctx.config.service} ${flags.version}?`, {yes: flags.yes, json, action: 'gray start'})
    const progress = createProgress({json, checks: ctx.config.gates?.checks, ctrlC: ctrlCHint(canPrompt(json))})
    const result = await startRun(ctx, {
      version: flags.version,
      previousVersion: flags['previous-version'],
      warn: (line) => this.note(`warning: ${line}`),
      observe: (e, s) => progress.observe(e, s),
      handleSignals: true,
      ask: interruptAsk(json, progress),
      note: interruptNote(progress),
      detach: flags.detach,
      // taking over an unfinished run: gray.yaml must be the config it started with, or be adopted
      configChoice: flags['adopt-config'] ? 'adopt' : 'refuse',
    })
    if (flags.detach && result.agent) {
      const {host, pid, user, kind} = result.agent
      if (!json) this.log(`run ${result.runId} of ${ctx.config.service} is driven by the agent on ${host} (pid ${pid}); \`gray status --watch\` follows it`)
      return this.finish({...(await statusOf(ctx, {runId: result.runId})), runId: result.runId, driver: {kind, host, pid, user}}, result.exitCode)
    }
    await progress.end(result.state)
    if (flags.detach && result.exitCode === ExitCode.paused) {
      // the driver said UNGUARDED as it left; what is left to say is why no agent took the run
      this.note(`gray: no \`gray agent\` serves ${ctx.config.service} to guard the run (see docs/agent.md)`)
    }
    if (!json) this.log(describeEnd(result.state, ctx.config.service))
    return this.finish(await statusOf(ctx, {runId: result.runId}), result.exitCode)
  }
}
