// Journal event types and their data. The journal is the run's only memory:
// replaying these events (./state.ts) gives the run's state.
import type {FrozenConfig} from '../config/frozen.js'
import type {Host, HookStage, Step} from '../config/model.js'
import type {Verdict} from '../gates/judge.js'
import type {ReleaseBase, RequestKind} from '../ports.js'
import type {SequentialSummary} from '../gates/judge-sequential.js'
import type {Evidence} from '../gates/sequential.js'

export type DeployPurpose = 'gray' | 'step' | 'complete' | 'revert'
export type PublishPurpose = 'step' | 'drain' | 'complete' | 'rollback' | 'plain'

export interface EventData {
  'run.started': {
    runId: string
    service: string
    version: string
    previousVersion: string | null
    steps: Step[]
    hosts: {stable: Host[]; gray: Host[]}
    gateway: string
    checks: string[]
    config: string
    /** the effective config, each ${VAR} as the reference (../config/frozen.ts); absent in runs started before it was kept */
    effectiveConfig?: FrozenConfig
    /** sha256 of effectiveConfig */
    configHash?: string
    /** salts the split's hash for the whole run (traffic.rotate); absent: the key alone (rotate: false, or a run from before) */
    cohortSeed?: string
    /** a run of kind config: its keys, and hashes of the values (never the values) */
    release?: ReleaseBase
  }
  /** from here on the run drives with this config (`--adopt-config`): gray.yaml had changed; `changed` names keys, never values */
  'config.adopted': {hash: string; previousHash: string; changed: string[]; config: FrozenConfig; by: string}
  'driver.attached': {epoch: number; takeover: boolean; from?: string}
  /** a takeover read the run's inventory again: hosts of the run no longer in it (they stay in the run), hosts new in it (not added) */
  'inventory.changed': {pool: 'stable' | 'gray'; from: string; vanished: Host[]; added: Host[]}
  /** a takeover could not read the run's inventory again: it drives the hosts frozen in run.started */
  'inventory.unreadable': {pool: 'stable' | 'gray'; from: string; error: string}
  'driver.detached': {reason: string}
  /**
   * the driver stays at a hold (a pause, a step waiting for promote) and guards it: the gates are measured every
   * `intervalMs` at `weightBp`; `unmeasured` says why nothing is measured (no traffic reaches gray, no gates)
   */
  'driver.guarding': {reason: string; weightBp: number; intervalMs: number | null; unmeasured?: string}
  'host.deploy.started': {host: string; name: string; version: string; purpose: DeployPurpose; attempt: number; step?: number}
  /** `log`: where the attempt's full output is kept, when it is */
  'host.deploy.succeeded': {host: string; version: string; durationMs: number; outputTail: string[]; log?: string}
  'host.deploy.failed': {host: string; version: string; error: string; outputTail: string[]; attempt: number; cancelled?: boolean; log?: string}
  /** the completion goes on without this host: its failures stay within deploy.maxFailPercent */
  'host.abandoned': {host: string; name: string; version: string; error: string}
  /** `key` names the moment (gray, step-2, complete, plain, rollback): a hook runs once per stage and key */
  'hook.started': {stage: HookStage; key: string; step?: number; weight: number}
  'hook.ran': {stage: HookStage; key: string; ok: boolean; exitCode: number | null; error?: string; outputTail: string[]; durationMs: number}
  'step.started': {index: number; weight: number}
  'gateway.publish.started': {
    revision: string
    weightBp: number
    mode: 'split' | 'plain'
    purpose: PublishPurpose
    step: number
    rules: number
    gray: string[]
    stable: string[]
  }
  'gateway.publish.confirmed': {revision: string; weightBp: number; mode: 'split' | 'plain'; purpose: PublishPurpose; step: number}
  'gateway.publish.failed': {revision: string; error: string; attempt: number; permanent: boolean; purpose: PublishPurpose}
  'gate.measured': {
    check: string
    step: number
    verdict: Verdict
    value: number | null
    limit: number | null
    baseline: number | null
    samples: number | null
    reason: string
    query?: string
    evaluatedAt: string
    windowMs: number
    raw: Record<string, unknown>
    stableRaw?: Record<string, unknown>
    /** judge: sequential — an anytime-valid test rejected */
    decisive?: boolean
    /** judge: sequential — the run's evidence after this measurement; replay continues from it */
    evidence?: Evidence
    /** judge: sequential — e-values, the ratio's confidence sequence, counts */
    sequential?: SequentialSummary
    /** measured while the driver guards a hold: it may roll the run back, its pass never counts towards minPasses */
    guard?: boolean
  }
  'step.passed': {index: number; by: 'gates' | 'promote'}
  'step.waiting': {index: number}
  'request.received': {id: string; kind: RequestKind; reason?: string; full?: boolean; by: string; requestedAt: string}
  /** `request`: the id of the request.received whose effect this is (absent when the driver decided it, and in journals before it was written) */
  'run.paused': {reason: string; cause: 'request' | 'signal' | 'gates' | 'deploy' | 'gateway' | 'hook'; request?: string}
  'run.resumed': {by: string; request?: string}
  'run.promoted': {full: boolean; by: string; request?: string}
  'rollback.started': {reason: string; by: string; request?: string}
  /** `about`: the step of the rollback (./rollback.ts) the warning is about; absent in journals before it was written */
  'rollback.warning': {message: string; about?: 'traffic' | 'hosts'}
  'run.rolled_back': {reason: string; reverted: string[]; notReverted: string[]}
  'run.completing': {hosts: string[]}
  /** `failedHosts`: hosts left behind within deploy.maxFailPercent (addresses) */
  'run.completed': {version: string; failedHosts?: string[]}
  'run.failed': {error: string}
  'journal.repaired': {droppedBytes: number; droppedText: string}
}

export type EventType = keyof EventData
