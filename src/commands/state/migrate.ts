import {migrateState, stateTarget, type MigrateSummary} from '../../services/state.js'
import {EXIT_CODES_HELP, GrayCommand} from '../../ui/base.js'
import {stateFlags} from '../../ui/state-flags.js'

export default class StateMigrate extends GrayCommand {
  static override summary = 'Bring the shared state database\'s schema up to this gray\'s version (safe from many machines at once).'
  static override description = `Applies the missing schema migrations under a PostgreSQL advisory lock: run it from
any number of machines at once, one applies and the others find nothing to do. Every
gray command that opens the database does the same on its own; this one does only that.
With the local backend there is nothing to migrate.

${EXIT_CODES_HELP}`
  static override examples = ['GRAY_DATABASE_URL=postgres://gray@db:5432/gray <%= config.bin %> state migrate', '<%= config.bin %> state migrate -c gray.yaml --json']
  static override flags = {url: stateFlags.url, backend: stateFlags.backend}

  async run(): Promise<MigrateSummary> {
    const {flags} = await this.parse(StateMigrate)
    const {state} = await stateTarget({config: flags.config, service: 'any', backend: flags.backend, url: flags.url})
    const result = await migrateState(state)
    if (!this.jsonEnabled()) {
      if (result.backend === 'local') this.log(`local state in ${result.where}: nothing to migrate`)
      else if (result.applied.length === 0) this.log(`${result.where}: schema already at version ${result.version}`)
      else this.log(`${result.where}: applied migration${result.applied.length === 1 ? '' : 's'} ${result.applied.join(', ')}; schema at version ${result.version}`)
    }
    return this.finish(result, 0)
  }
}
