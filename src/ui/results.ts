// The documented `--json` result of every command, as zod schemas. They are
// written out as JSON Schemas under schema/results/ (a test keeps the files and
// these in step), and the type checks below fail the build when a command's
// result type drifts from its schema — so a change to a JSON shape is deliberate.
// Only tests and the schema export load this file: zod stays off the start-up path.
import {z} from 'zod'

import type {Plan} from '../core/plan.js'
import type {CohortAnswer} from '../services/cohort.js'
import type {CohortServeReady} from '../services/cohort-serve.js'
import type {HistoryEntry} from '../services/history.js'
import type {rehearseService} from '../services/rehearse.js'
import type {CalibrateResult} from '../services/calibrate.js'
import {INIT_TEMPLATES, type InitResult} from '../services/init.js'
import type {ReportResult} from '../services/report.js'
import type {ExportSummary, ImportSummary, MigrateSummary} from '../services/state.js'
import type {StatusDocument} from '../services/status.js'
import type {ValidateResult} from '../services/validate.js'

const at = z.string().describe('ISO 8601 time')
const RUN_STATES = ['deploying', 'running', 'baking', 'waiting', 'paused', 'rolling_back', 'rolled_back', 'completed', 'failed'] as const

export const statusResult = z
  .strictObject({
    service: z.string(),
    run: z
      .strictObject({
        id: z.string(),
        version: z.string(),
        previousVersion: z.string().nullable(),
        state: z.enum(RUN_STATES),
        step: z.strictObject({
          index: z.number().int().describe('0-based; -1 before step 1'),
          count: z.number().int(),
          weight: z.number().nullable(),
          startedAt: at.nullable(),
          bakeEndsAt: at.nullable(),
        }),
        gateway: z.strictObject({
          intendedWeight: z.number().nullable().describe('percent the journal says should be served'),
          appliedWeight: z.number().nullable().describe('percent the gateway says it serves'),
          mode: z.enum(['split', 'plain']).nullable(),
          revision: z.string().nullable(),
          drift: z.boolean(),
          error: z.string().optional().describe('why the gateway could not be read'),
          instances: z
            .array(
              z.strictObject({
                name: z.string(),
                revision: z.string().nullable(),
                appliedWeight: z.number().nullable(),
                drift: z.boolean().describe('serves another revision than the journal last confirmed'),
                error: z.string().optional(),
              }),
            )
            .optional()
            .describe('each instance of a gateway fleet (gateway.instances)'),
        }),
        hosts: z.array(
          z.strictObject({
            name: z.string(),
            address: z.string(),
            pool: z.string(),
            version: z.string().nullable(),
            healthy: z.boolean().nullable(),
            deploying: z.string().nullable(),
            error: z.string().optional(),
          }),
        ),
        gates: z.array(
          z.strictObject({
            name: z.string(),
            verdict: z.string().nullable().describe('pass | fail | no-data | error; null before the first measurement'),
            value: z.number().nullable(),
            limit: z.number().nullable(),
            baseline: z.number().nullable(),
            samples: z.number().nullable(),
            at: at.nullable(),
            reason: z.string().nullable(),
            passes: z.number().int(),
            trend: z.array(z.number().nullable()),
          }),
        ),
        cohortSeed: z.string().nullable().optional().describe("the run's cohort seed, salting the split's hash (traffic.rotate); null: the key alone"),
        driver: z
          .strictObject({
            kind: z.enum(['cli', 'agent']).optional().describe('a CLI process (start, promote, …) or `gray agent`'),
            pid: z.number().int(),
            host: z.string(),
            user: z.string(),
            alive: z.boolean(),
            since: at.optional(),
            heartbeatAt: at.optional().describe('the lease\'s last heartbeat'),
          })
          .nullable()
          .describe('who holds the run\'s lease; null when nobody does'),
        guarded: z.boolean().optional().describe('false: the run is not finished and no live driver holds it (UNGUARDED: no gate is measured, nothing rolls it back)'),
        guard: z
          .strictObject({
            reason: z.string().describe('the hold: `waiting for gray promote`, or the pause\'s reason'),
            weight: z.number().describe('percent to gray the gates are measured at'),
            intervalMs: z.number().int().nullable().describe('how often the gates are measured; null when nothing is (see unmeasured)'),
            unmeasured: z.string().optional().describe('why nothing is measured (no traffic reaches gray, no gates): the driver only waits for a request'),
            since: at,
            lastMeasuredAt: at.nullable().describe('the last measurement at this step'),
          })
          .optional()
          .describe('present while a live driver guards a waiting or paused run: its gates are still measured and a failing gate rolls it back'),
        config: z
          .strictObject({
            hash: z.string().describe('sha256 of the config the run drives with (its frozen config, or the last adopted one)'),
            startedHash: z.string().describe('sha256 of the config it started with'),
            adopted: z.strictObject({hash: z.string(), by: z.string(), at, changed: z.array(z.string())}).optional().describe('the last --adopt-config'),
          })
          .optional()
          .describe('absent for runs started before runs kept their config'),
        reason: z.string().nullable(),
        warnings: z.array(z.string()),
        startedAt: at,
        updatedAt: at,
      })
      .nullable()
      .describe('null when the service has no run'),
    events: z.array(z.strictObject({seq: z.number().int(), at, type: z.string(), summary: z.string()})),
  })
  .describe('The run as it is (`gray status --json`); also the result of start, promote, rollback, pause, resume and demo')

export const errorResult = z
  .strictObject({
    error: z.strictObject({
      message: z.string(),
      hint: z.string().nullable(),
      exitCode: z.number().int().min(1).max(5),
      problems: z.array(z.string()).optional().describe('gray validate: every problem found, when there is more than one'),
    }),
  })
  .describe('What every command prints under --json when it fails (exit code 1, 2 or 5)')

const inventoryReads = z.array(
  z.strictObject({
    pool: z.enum(['stable', 'gray']),
    kind: z.enum(['command', 'file']),
    from: z.string().describe('the argv or the file, secrets masked'),
    count: z.number().int().nullable().describe('hosts it listed; null when validate did not run the command (it does with --connect)'),
    first: z.array(z.string()).describe('the first few host names'),
  }),
)

export const validateResult = z
  .strictObject({
    file: z.string(),
    service: z.string(),
    gateway: z.string(),
    steps: z.number().int(),
    checks: z.number().int(),
    warnings: z.array(z.string()),
    connect: z.array(z.strictObject({what: z.string(), ok: z.boolean(), detail: z.string()})).optional().describe('with --connect'),
    inventory: inventoryReads.optional().describe('the pools read from an inventory; a command is run only with --connect'),
  })
  .describe('`gray validate --json`')

const host = z.strictObject({name: z.string(), address: z.string()})
const field = z.strictObject({source: z.enum(['header', 'cookie', 'query']), name: z.string()})
const rule = z.discriminatedUnion('kind', [
  z.strictObject({kind: z.literal('equals'), field, value: z.string()}),
  z.strictObject({kind: z.literal('in'), field, values: z.array(z.string())}),
  z.strictObject({kind: z.literal('prefix'), field, value: z.string()}),
  z.strictObject({kind: z.literal('range'), field, min: z.number(), max: z.number()}),
  z.strictObject({kind: z.literal('cidr'), cidrs: z.array(z.string())}),
])
const sticky = z.union([z.strictObject({kind: z.enum(['cookie', 'header', 'query']), name: z.string()}), z.strictObject({kind: z.literal('ip')})])
const check = z.strictObject({
  name: z.string(),
  source: z.string(),
  errors: z.string().optional(),
  total: z.string().optional(),
  query: z.string().optional(),
  release: z.string().optional(),
  max: z.number().optional(),
  min: z.number().optional(),
  baseline: z.strictObject({maxIncrease: z.number(), minDelta: z.number()}).optional(),
  minSamples: z.number(),
  failures: z.number(),
  critical: z.boolean(),
  noData: z.enum(['hold', 'fail']),
  errorLimit: z.number(),
  failClosed: z.boolean(),
  windowMs: z.number(),
  minPasses: z.number(),
})

const policy = z.strictObject({
  service: z.string(),
  revision: z.string(),
  mode: z.enum(['split', 'plain']),
  weightBp: z.number().int(),
  sticky,
  rules: z.array(rule),
  tag: z.strictObject({header: z.string(), value: z.string()}).optional(),
  stable: z.array(host),
  gray: z.array(host),
})

export const planResult = z
  .strictObject({
    service: z.string(),
    version: z.string(),
    previousVersion: z.string().nullable(),
    grayPool: z.array(host),
    steps: z.array(
      z.strictObject({
        index: z.number().int(),
        weight: z.number(),
        bakeMs: z.number(),
        pause: z.boolean(),
        newHosts: z.array(host),
        grayHosts: z.array(host),
        stableHosts: z.array(host),
        policy,
        native: z.string().describe("the policy in the gateway's own form"),
      }),
    ),
    completion: z.strictObject({
      hosts: z.array(host),
      policy,
      native: z.string().describe("the plain policy in the gateway's own form: for nginx, the include to write before nginx first starts"),
    }),
    gates: z.strictObject({intervalMs: z.number(), windowMs: z.number(), checks: z.array(check)}).nullable(),
    warnings: z.array(z.string()),
    inventory: inventoryReads.optional().describe('the pools read from an inventory (hosts.stable / hosts.gray as {command} or {file})'),
    config: z
      .strictObject({hash: z.string(), reads: z.array(z.string())})
      .optional()
      .describe('what a run started now keeps in its journal: the config\'s hash, and the environment variables it reads (by name, never their values)'),
  })
  .describe('`gray plan --json`')

export const historyResult = z
  .strictObject({
    service: z.string(),
    runs: z.array(
      z.strictObject({
        id: z.string(),
        version: z.string(),
        previousVersion: z.string().nullable(),
        outcome: z.string().describe('the run state; completed, rolled_back or failed once ended'),
        startedAt: at,
        endedAt: at.nullable(),
        durationMs: z.number().nullable(),
        reason: z.string().nullable(),
      }),
    ),
  })
  .describe('`gray history --json`: newest run first')

export const initResult = z
  .strictObject({
    file: z.string(),
    template: z.enum(INIT_TEMPLATES),
    service: z.string(),
    schema: z.string(),
    overwritten: z.boolean(),
    next: z.array(z.string()),
  })
  .describe('`gray init --json`')

export const reportResult = z
  .strictObject({
    service: z.string(),
    runId: z.string(),
    version: z.string(),
    state: z.enum(RUN_STATES),
    file: z.string().describe('absolute path of the HTML report'),
    bytes: z.number().int(),
  })
  .describe('`gray report --json`')

const target = z.enum(['gray', 'stable'])

export const cohortResult = z
  .strictObject({
    service: z.string(),
    sticky: z.string(),
    key: z.string().nullable(),
    bucket: z.number().int().nullable().describe('the key on the 0..9999 basis-point scale: gray while the weight is above it'),
    stickySplit: z.boolean().describe('false where the gateway splits per request: the answer is a chance'),
    seed: z.string().nullable().describe("the unfinished run's cohort seed that bucket and steps are for; null: the key alone"),
    seedPending: z.boolean().describe('no unfinished run and traffic.rotate on: the next run picks a new seed, so bucket is null and a step the split decides is unknown'),
    now: z.strictObject({state: z.string(), weight: z.number(), target, why: z.string()}).nullable(),
    steps: z.array(
      z.strictObject({
        index: z.number().int(),
        weight: z.number(),
        target: z.enum(['gray', 'stable', 'unknown']).describe("unknown: the split decides and the next run's cohort seed is not chosen yet (seedPending)"),
        why: z.string(),
      }),
    ),
    config: z
      .strictObject({reads: z.enum(['gray', 'official']), key: z.string(), revision: z.string().nullable()})
      .optional()
      .describe('a run of kind config: the key this user reads now, and the revision of the policy that decides it'),
  })
  .describe('`gray cohort --json`')

export const cohortServeReady = z
  .strictObject({listen: z.string().describe('the base URL it answers on'), service: z.string(), backend: z.enum(['local', 'postgres'])})
  .describe('`gray cohort serve` prints this one line once it is ready, with or without --json')

const rehearsalMeasurement = z.strictObject({
  at,
  check: z.string(),
  verdict: z.enum(['pass', 'fail', 'no-data', 'error']),
  reason: z.string(),
  rollback: z.boolean().describe('this measurement would have rolled the run back'),
})

export const rehearseResult = z
  .strictObject({
    service: z.string(),
    version: z.string(),
    previousVersion: z.string().nullable(),
    from: at,
    to: at,
    intervalMs: z.number(),
    checks: z.array(
      z.strictObject({
        name: z.string(),
        judge: z.enum(['threshold', 'sequential']),
        measurements: z.number().int(),
        passes: z.number().int(),
        rollback: z.strictObject({at, reason: z.string()}).nullable(),
        last: rehearsalMeasurement.nullable(),
      }),
    ),
    rollback: z.strictObject({at, check: z.string(), reason: z.string()}).nullable().describe('when the run would have rolled back; null: never'),
    notable: z.array(rehearsalMeasurement).describe('every measurement that was not a pass, in time order'),
  })
  .describe('`gray rehearse --json`')

export const calibrateResult = z
  .strictObject({
    service: z.string(),
    version: z.string().describe('the version both groups of stable hosts run'),
    live: z.boolean().describe('measured from now on (--for); false: past data (--from/--to)'),
    from: at,
    to: at,
    intervalMs: z.number(),
    groups: z.strictObject({a: z.array(z.string()), b: z.array(z.string())}).describe('host names of the two groups'),
    checks: z.array(
      z.strictObject({
        name: z.string(),
        measured: z.string().nullable().describe('errors, or the histogram bound the estimate comes from; null: not measured'),
        phi: z.number().nullable().describe('estimated overdispersion: Pearson χ² per interval'),
        low: z.number().nullable().describe('95% interval, low end'),
        high: z.number().nullable().describe('95% interval, high end'),
        intervals: z.number().int().describe('intervals with errors in either group and requests in both'),
        errors: z.number(),
        recommended: z.number().nullable().describe('the factor to set: the high end, rounded up to a tenth, at least 1'),
        line: z.string().nullable().describe('the gray.yaml line to paste into the check'),
        note: z.string().nullable().describe('why the estimate is missing or weak'),
      }),
    ),
  })
  .describe('`gray calibrate --json`')

export const sandboxReady = z
  .strictObject({listen: z.string(), admin: z.string()})
  .describe('`gray sandbox` prints this one line once it is ready, with or without --json')

const stateBackendKind = z.enum(['local', 'postgres'])

export const stateMigrateResult = z
  .strictObject({
    backend: stateBackendKind,
    where: z.string().describe('the directory, or postgres://host:port/db (never a password)'),
    applied: z.array(z.number().int()).describe('schema versions this call applied; [] when up to date'),
    version: z.number().int().nullable().describe('the schema version now; null for local'),
  })
  .describe('`gray state migrate --json`')

export const stateExportResult = z
  .strictObject({service: z.string(), backend: stateBackendKind, where: z.string(), runs: z.number().int(), events: z.number().int()})
  .describe('`gray state export --output FILE --json`')

export const stateImportResult = z
  .strictObject({
    service: z.string(),
    backend: stateBackendKind,
    where: z.string(),
    imported: z.array(z.string()).describe('run ids written by this import'),
    unchanged: z.array(z.string()).describe('run ids already there with the same events'),
  })
  .describe('`gray state import --json`')

export const agentLogLine = z
  .strictObject({
    time: at,
    level: z.enum(['info', 'warn', 'error']),
    service: z.string().optional().describe('the service the line is about'),
    run: z.string().optional().describe('the run the line is about'),
    message: z.string(),
  })
  .describe('`gray agent --log json` (or --json): one such object a line, for as long as the agent runs')

/** Every command's result schema, by command name: schema/results/<name>.schema.json. */
export const RESULT_SCHEMAS = {
  agent: agentLogLine,
  calibrate: calibrateResult,
  cohort: cohortResult,
  'cohort:serve': cohortServeReady,
  demo: statusResult,
  error: errorResult,
  history: historyResult,
  init: initResult,
  pause: statusResult,
  plan: planResult,
  promote: statusResult,
  rehearse: rehearseResult,
  report: reportResult,
  resume: statusResult,
  rollback: statusResult,
  sandbox: sandboxReady,
  start: statusResult,
  'state:export': stateExportResult,
  'state:import': stateImportResult,
  'state:migrate': stateMigrateResult,
  status: statusResult,
  validate: validateResult,
} as const

export type ResultName = keyof typeof RESULT_SCHEMAS

/** The JSON Schema written to schema/results/<name>.schema.json. */
export function resultJsonSchema(name: ResultName): Record<string, unknown> {
  const schema = z.toJSONSchema(RESULT_SCHEMAS[name], {target: 'draft-2020-12', io: 'output'})
  return {...schema, $id: `https://github.com/gray-cli/gray/schema/results/${name}.schema.json`, title: `gray ${name} --json`}
}

// Compile-time: each schema describes exactly the type its command returns.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same = <A, B>(ok: Same<A, B>) => ok
same<z.output<typeof statusResult>, StatusDocument>(true)
same<z.output<typeof validateResult>, ValidateResult>(true)
same<z.output<typeof stateMigrateResult>, MigrateSummary>(true)
same<z.output<typeof stateExportResult>, ExportSummary>(true)
same<z.output<typeof stateImportResult>, ImportSummary>(true)
// buildPlan always sets gates (null when there are none); the type also admits undefined
same<z.output<typeof planResult>, Omit<Plan, 'gates'> & {gates: NonNullable<Plan['gates']> | null}>(true)
same<z.output<typeof historyResult>['runs'][number], HistoryEntry>(true)
same<z.output<typeof initResult>, InitResult>(true)
same<z.output<typeof reportResult>, ReportResult>(true)
same<z.output<typeof cohortResult>, CohortAnswer>(true)
same<z.output<typeof cohortServeReady>, CohortServeReady>(true)
same<z.output<typeof rehearseResult>, Awaited<ReturnType<typeof rehearseService>>>(true)
same<z.output<typeof calibrateResult>, CalibrateResult>(true)
