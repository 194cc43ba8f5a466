// The driver's deploy-side adapters for one run, for the services layer:
//   new RunDriver({..., ...(await runAdapters(ctx.store.dir, runId))})
import {join} from 'node:path'

import type {DriverDeps} from '../../core/run/driver.js'

export async function runAdapters(serviceDir: string, runId: string): Promise<Pick<DriverDeps, 'deployLogs' | 'hooks'>> {
  const [{FileDeployLogs}, {CommandHookRunner}] = await Promise.all([import('./log-files.js'), import('../hooks/command.js')])
  return {deployLogs: new FileDeployLogs(join(serviceDir, 'logs', runId)), hooks: new CommandHookRunner()}
}
