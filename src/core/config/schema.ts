// gray.yaml as the user writes it, and how it becomes the normalised GrayConfig
// (durations in ms, hosts as {name, address}, defaults filled). The editor JSON
// Schema is generated from this same source (./json-schema.ts).
import {z} from 'zod'
import {GATEWAYS, gatewayRegistration} from '../../adapters/gateways/registry.js'
import {METRIC_SOURCES} from '../../adapters/metrics/registry.js'
import type {Check, GatewayConfig, GrayConfig, Host, HostPool, HostShare, InventorySource, MetricSourceConfig, Rule, StickyKey, Step} from './model.js'
import {DEFAULT_STATE_DIR, SERVICE_NAME} from './plain.js'
import {schemaKit} from './schema-kit.js'
import {argv, duration, plainString, fieldName, FIELD_NAME, fieldValue, hostPort, httpUrl, isCidr, label, strictObject, text, wholeNumber} from './values.js'

/** What the schema yields; the loader adds `file` and resolves paths against it. */
export type ParsedConfig = Omit<GrayConfig, 'file'>

/** The registrations' blocks, for z.discriminatedUnion: each is a strict object keyed by `type`. */
type DiscriminatedOptions = [z.ZodObject<{type: z.ZodLiteral<string>}>, ...z.ZodObject<{type: z.ZodLiteral<string>}>[]]

// ── service, state, hosts ───────────────────────────────────────────────────

const SERVICE_EXPECTED = 'must be a service name of up to 63 letters, digits, _ . - starting with a letter or digit'

const service = z
  .string({error: SERVICE_EXPECTED})
  .regex(SERVICE_NAME, {error: SERVICE_EXPECTED, abort: true})
  // the name becomes file names (journal, lock), so it must never climb out of the state dir
  .refine((name) => !name.includes('..'), {error: `${SERVICE_EXPECTED} and without ".."`})
  .describe('Names the run lock, the journal and the gateway objects')

const POSTGRES_URL = 'a PostgreSQL URL like postgres://gray@db.internal:5432/gray, best written "${GRAY_DATABASE_URL}"'

const state = strictObject({
  backend: z
    .enum(['local', 'postgres'], {error: 'must be local (the journal directory) or postgres'})
    .optional()
    .describe('Where runs, leases and requests live: local (default, the journal directory) or postgres (shared by every machine)'),
  dir: text('a directory path').prefault(DEFAULT_STATE_DIR).describe('Journal directory, relative to this file'),
  // the URL may hold a password: checked without echoing it, and best given as ${GRAY_DATABASE_URL}
  url: text(POSTGRES_URL)
    .refine((url) => /^postgres(ql)?:\/\//.test(url) && URL.canParse(url), {error: `must be ${POSTGRES_URL}`})
    .optional()
    .describe('PostgreSQL URL for backend: postgres; a secret, write "${GRAY_DATABASE_URL}"'),
})
  .superRefine((input, ctx) => {
    if (input.backend === 'postgres' && input.url === undefined) ctx.addIssue({code: 'custom', path: ['url'], message: `backend postgres needs url: ${POSTGRES_URL}`})
    if (input.backend !== 'postgres' && input.url !== undefined) ctx.addIssue({code: 'custom', path: ['url'], message: 'is read only with backend: postgres; add backend: postgres or remove url'})
  })
  // local stays {dir}, as before; postgres adds what it needs
  .transform(({backend, dir, url}) => (backend === 'postgres' && url !== undefined ? {dir, backend, url} : {dir}))
  .prefault({})

const host = z.union(
  [
    hostPort('a host written host:port, like 10.0.0.21:8080, or {name, address}').transform(
      (address): Host => ({name: address, address}),
    ),
    strictObject({
      name: label('a host name'),
      address: hostPort(),
    }),
  ],
  {error: 'must be a host written host:port, like 10.0.0.21:8080, or {name, address}'},
)

/** A list of hosts; also what an inventory must print (src/core/config/inventory.ts). */
export const hostList = z.array(host, {error: 'must be a list of hosts'}).min(1, {error: 'must list at least one host'})

const INVENTORY_EXPECTED = 'must be {command: [argv…]} or {file: path}, not both'

/** hosts read when a run starts: an argv printing a JSON list of hosts, or a JSON/YAML file of one (docs/hosts.md) */
export const inventory = strictObject(
  {
    command: argv().optional().describe('argv (never a shell) that prints a JSON list of hosts; ${VAR} in it are secrets'),
    timeout: duration().optional().describe('How long the command may run; default 30s'),
    file: text('a file path').optional().describe('A JSON or YAML file holding a list of hosts, relative to this file'),
  },
  'a list of hosts, {command: [argv…]} or {file: path}',
)
  .superRefine((input, ctx) => {
    if ((input.command === undefined) === (input.file === undefined)) ctx.addIssue({code: 'custom', message: INVENTORY_EXPECTED, params: {found: input.command ? 'both' : 'neither'}})
    if (input.file !== undefined && input.timeout !== undefined) ctx.addIssue({code: 'custom', path: ['timeout'], message: 'is read only with command'})
  })
  .transform(({command, timeout, file}): InventorySource => (command ? {kind: 'command', command, timeoutMs: timeout ?? 30_000} : {kind: 'file', file: file as string}))

/** a mapping naming command or file (or no list at all) is read as an inventory; any other mapping (hosts keyed by name) is a wrong list, said so at the pool */
const isInventory = (value: unknown): boolean =>
  !Array.isArray(value) && (value === null || typeof value !== 'object' || Object.keys(value).length === 0 || 'command' in value || 'file' in value || 'timeout' in value)
/** the guard before `inventory`; ./json-schema.ts writes `inventory`'s shape in its place */
export const inventoryGuard = z.custom<Record<string, unknown>>(isInventory, {error: 'must be a list of hosts'})

const pool = (what: string) =>
  z
    .union([hostList, inventoryGuard.pipe(inventory)], {error: 'must be a list of hosts, {command: [argv…]} or {file: path}'})
    .describe(`${what}: a list, or read when a run starts from {command: [argv…]} or {file: path}`)

const hosts = strictObject({
  stable: pool('Hosts that serve the current version'),
  gray: pool('Dedicated gray hosts, deployed first'),
}).transform(({stable, gray}) => {
  // a pool from an inventory is empty until src/services/inventory.ts reads it
  const listed = (p: Host[] | InventorySource) => (Array.isArray(p) ? p : [])
  const read = Object.fromEntries(Object.entries({stable, gray}).filter(([, p]) => !Array.isArray(p))) as Partial<Record<HostPool, InventorySource>>
  return {hosts: {stable: listed(stable), gray: listed(gray)}, inventory: Object.keys(read).length > 0 ? read : undefined}
})

// ── deploy ──────────────────────────────────────────────────────────────────

const health = strictObject({
  url: httpUrl('an http(s) URL like http://{host.address}/healthz'),
  expect: wholeNumber(100, 'an HTTP status 100..599')
    .max(599, {error: 'must be an HTTP status 100..599'})
    .prefault(200),
  timeout: duration().prefault('60s'),
  interval: duration().prefault('1s'),
}).transform(({url, expect, timeout, interval}) => ({url, expect, timeoutMs: timeout, intervalMs: interval}))

const SHARE_OF_HOSTS = /^(\d+(\.\d+)?)%$/

/** A count of hosts like 2, or a share of them like "25%"; `count` says what a plain number must be. */
const hostShare = (count: string, expected: string) =>
  z.union(
    [
      wholeNumber(1, count).transform((n): HostShare => ({count: n})),
      z
        .string()
        .regex(SHARE_OF_HOSTS, {error: expected})
        .transform((share) => Number.parseFloat(share))
        .refine((percent) => percent > 0 && percent <= 100, {error: expected})
        .transform((percent): HostShare => ({percent})),
    ],
    {error: expected},
  )

const ssh = strictObject({
  user: label('a user name').optional(),
  port: wholeNumber(1, 'a port 1..65535').max(65535, {error: 'must be a port 1..65535'}).optional(),
  identityFile: text('the path of a private key').optional().describe('Private key for ssh -i: an absolute path, ~/…, or a path relative to gray.yaml'),
  knownHosts: z
    .enum(['strict', 'accept-new', 'off'], {error: 'must be one of strict, accept-new, off'})
    .prefault('strict')
    .describe('strict: the host key must be known; accept-new: learn new keys, refuse changed ones; off: never check'),
  knownHostsFile: text('the path of a known_hosts file').optional().describe('known_hosts file for ssh: an absolute path, ~/…, or a path relative to gray.yaml'),
  connectTimeout: duration().prefault('10s'),
})
  .transform(({connectTimeout, ...rest}) => ({...rest, connectTimeoutMs: connectTimeout}))
  .describe('Run deploy.command on each host over ssh (BatchMode): ssh connects to the host name, or to the host part of a bare host:port')

const deploy = strictObject({
  type: z.literal('command', {error: 'must be one of command'}).prefault('command'),
  command: argv().describe('argv run once per host (on the host, with ssh); placeholders {version} {previousVersion} {service} {host.name} {host.address}'),
  concurrency: wholeNumber(1).prefault(10),
  timeout: duration().prefault('5m'),
  retries: wholeNumber(0).prefault(1),
  health: health.optional(),
  maxUnavailable: hostShare(
    'a count of hosts like 2, or a share of all hosts like "25%" (at most 100%)',
    'must be a count of hosts like 2, or a share of all hosts like "25%" (at most 100%)',
  )
    .optional()
    .describe('Hosts out of service at once while converting and completing; default 25% of all hosts (at least 1)'),
  maxFailPercent: z
    .number({error: 'must be a percentage 0..100'})
    .min(0, {error: 'must be a percentage 0..100'})
    .max(100, {error: 'must be a percentage 0..100'})
    .optional()
    .describe('Share of all hosts whose completion deploy may fail while the run still completes; default 0'),
  ssh: ssh.optional(),
}).transform(({timeout, ...rest}) => ({...rest, timeoutMs: timeout}))

// ── hooks ───────────────────────────────────────────────────────────────────

const hooks = strictObject({
  timeout: duration().prefault('5m').describe('How long one hook may run'),
  beforeDeploy: argv().optional().describe('Before hosts get the new version (the gray pool, a step, the completion); failing holds the run'),
  afterDeploy: argv().optional().describe('After those hosts run the new version and are healthy'),
  beforeTraffic: argv().optional().describe("Before a step's weight, the completion's 100% or the plain form is published; failing holds the run"),
  afterTraffic: argv().optional().describe('After the gateway confirmed that traffic change'),
  onRollback: argv().optional().describe('Once a rollback has moved traffic and reverted the hosts'),
  onComplete: argv().optional().describe('Once the gateway serves the plain form of a completed run'),
})
  .transform(({timeout, ...stages}) => ({timeoutMs: timeout, ...stages}))
  .describe('argv commands run at the stages of a run, with GRAY_* variables in their environment; a failing before-hook holds the run')

// ── gateway ─────────────────────────────────────────────────────────────────

// each gateway declares its block in its folder (src/adapters/gateways/<type>/registration.ts)
const gateway = z.discriminatedUnion('type', GATEWAYS.map((g) => g.schema(schemaKit)) as unknown as DiscriminatedOptions)

// ── traffic ─────────────────────────────────────────────────────────────────

const STICKY = new RegExp(`^(ip|(cookie|header|query):${FIELD_NAME.source.slice(1, -1)})$`)
const STICKY_EXPECTED = 'must be cookie:NAME, header:NAME, query:NAME or ip'

const sticky = z
  .string({error: STICKY_EXPECTED})
  .regex(STICKY, {error: STICKY_EXPECTED})
  .transform((key): StickyKey => {
    if (key === 'ip') return {kind: 'ip'}
    const [kind, name] = key.split(/:(.*)/) as ['cookie' | 'header' | 'query', string]
    return {kind, name}
  })
  .prefault('ip')
  .describe('Key the percentage split hashes on, so one user stays on one side')

const FIELDS = ['header', 'cookie', 'query'] as const
const MATCHERS = ['equals', 'in', 'prefix', 'range'] as const

const ruleValue = (what: string) => plainString(`${what} (quote numbers: "1")`)

const rule = strictObject({
  header: fieldName().optional(),
  cookie: fieldName().optional(),
  query: fieldName().optional(),
  equals: ruleValue('a string').optional(),
  in: z
    .array(ruleValue('a string'), {error: 'must be a list of strings'})
    .min(1, {error: 'must list at least one value'})
    .optional(),
  prefix: ruleValue('a string').min(1, {error: 'must be a non-empty string'}).optional(),
  range: z
    .array(wholeNumber(Number.MIN_SAFE_INTEGER, 'a whole number'), {error: 'must be [lo, hi], two whole numbers'})
    .length(2, {error: 'must be [lo, hi], two whole numbers'})
    .optional(),
  ip: z
    .array(
      z.string({error: 'must be a CIDR like 10.9.0.0/16 or 2001:db8::/32'}).refine(isCidr, {
        error: 'must be a CIDR like 10.9.0.0/16 or 2001:db8::/32',
      }),
      {error: 'must be a list of CIDRs like [10.9.0.0/16]'},
    )
    .min(1, {error: 'must list at least one CIDR'})
    .optional(),
})
  .superRefine((input, ctx) => {
    const fields = FIELDS.filter((key) => input[key] !== undefined)
    const matchers = MATCHERS.filter((key) => input[key] !== undefined)
    const present = [...fields, ...matchers].join(', ')
    if (input.ip !== undefined) {
      if (present !== '') ctx.addIssue({code: 'custom', message: 'a rule with ip must have no other keys', params: {found: present}})
      return
    }
    if (fields.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'must name exactly one of header, cookie, query (or be {ip: [...]})',
        params: {found: fields.length === 0 ? 'none' : fields.join(' and ')},
      })
    }
    if (matchers.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'must have exactly one of equals, in, prefix, range',
        params: {found: matchers.length === 0 ? 'none' : matchers.join(' and ')},
      })
    }
    const [lo, hi] = input.range ?? []
    if (lo !== undefined && hi !== undefined && lo > hi) {
      ctx.addIssue({code: 'custom', path: ['range'], message: 'must be [lo, hi] with lo <= hi'})
    }
  })
  .transform((input): Rule => {
    if (input.ip) return {kind: 'cidr', cidrs: input.ip}
    const source = FIELDS.find((key) => input[key] !== undefined) as 'header' | 'cookie' | 'query'
    const field = {source, name: input[source] as string}
    if (input.in) return {kind: 'in', field, values: input.in}
    if (input.prefix !== undefined) return {kind: 'prefix', field, value: input.prefix}
    if (input.range) return {kind: 'range', field, min: input.range[0] as number, max: input.range[1] as number}
    return {kind: 'equals', field, value: input.equals as string}
  })
  .describe('{header|cookie|query: NAME, equals|in|prefix|range: …} or {ip: [CIDR, …]}')

const traffic = strictObject({
  sticky,
  rules: z
    .array(rule, {error: 'must be a list of rules'})
    .prefault([])
    .describe('A request matching ANY rule always goes to gray'),
  tag: strictObject({header: fieldName(), value: fieldValue()})
    .optional()
    .describe('Header set on gray requests, for downstream services'),
  rotate: z
    .boolean({error: 'must be true or false'})
    .prefault(true)
    .describe('Each new run salts the split with its own cohort seed, so it picks other users than the last; false keeps the same users across releases'),
}).prefault({})

// ── steps ───────────────────────────────────────────────────────────────────

const WEIGHT_EXPECTED = 'must be 0..100'

const weight = z
  .number({error: `${WEIGHT_EXPECTED} (a number)`})
  .min(0, {error: WEIGHT_EXPECTED})
  .max(100, {error: WEIGHT_EXPECTED})
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-9, {
    error: 'must have at most two decimals',
  })

const DEFAULT_BAKE_MS = 300_000

const stepHosts = hostShare('a count of stable hosts of at least 1', 'must be a count of stable hosts like 2, or a share of them like "25%" (at most 100%)')

const step = strictObject({
  weight,
  bake: duration({zero: true}).optional().describe('How long the step runs while gates are measured (default 5m; none on a pause step)'),
  pause: z.boolean({error: 'must be true or false'}).prefault(false).describe('Wait for `gray promote` before going on: at once, or after its bake when it has one'),
  hosts: stepHosts.optional().describe('Stable hosts to convert before this step: N or "N%"'),
}).transform(({weight, bake, pause, hosts}): Step => {
  // a pause step without a bake waits as soon as its weight is confirmed
  const bakeMs = bake ?? (pause ? 0 : DEFAULT_BAKE_MS)
  return hosts ? {weight, bakeMs, pause, hosts} : {weight, bakeMs, pause}
})

const DEFAULT_STEPS = [{weight: 1}, {weight: 10}, {weight: 50}, {weight: 100}]

const steps = z
  .array(step, {error: 'must be a list of steps like {weight: 10, bake: 5m}'})
  .min(1, {error: 'must list at least one step'})
  .prefault(DEFAULT_STEPS)
  .describe('Default: weights 1, 10, 50, 100, each baking 5m')

// ── metrics ─────────────────────────────────────────────────────────────────

const SOURCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

// each source declares its block in its folder (src/adapters/metrics/<type>/registration.ts)
const source = z.discriminatedUnion('type', METRIC_SOURCES.map((m) => m.schema(schemaKit)) as unknown as DiscriminatedOptions)

const metrics = z
  .record(
    z
      .string()
      .regex(SOURCE_NAME, {error: 'must be a source name of letters, digits, _ . -'})
      // a key that is a JavaScript object's own machinery would change what every lookup finds
      .refine((name) => !RESERVED_NAMES.has(name), {error: 'must be a source name other than __proto__, constructor or prototype'}),
    source,
    {error: (issue) => (issue.code === 'invalid_type' ? 'must be a mapping of source names to sources' : undefined)},
  )
  .prefault({})
  .describe('Named metric sources that gate checks read')

// ── gates ───────────────────────────────────────────────────────────────────

const check = strictObject({
  name: label('a check name'),
  source: text('the name of a source under metrics'),
  errors: text('a query').optional().describe('Ratio checks: query counting bad events'),
  total: text('a query').optional().describe('Ratio checks: query counting all events'),
  query: text('a query').optional().describe('Value checks: query yielding the value itself'),
  release: text('a release').optional().describe('Sentry: the release whose crash-free rate is read'),
  histogram: text('a query')
    .optional()
    .describe('Latency checks: a query yielding one series per bucket bound le, e.g. sum by (le) (increase(x_bucket{version="{version}"}[{window}])); judged sequentially against the baseline'),
  max: z.number({error: 'must be a number'}).optional(),
  min: z.number({error: 'must be a number'}).optional(),
  baseline: strictObject({
    maxIncrease: z.number({error: 'must be a number above 0'}).positive({error: 'must be a number above 0'}),
    minDelta: z.number({error: 'must be a number of at least 0'}).min(0, {error: 'must be a number of at least 0'}).prefault(0.001),
  })
    .optional()
    .describe('Also compare with the stable version measured the same way'),
  minSamples: wholeNumber(0).prefault(1),
  failures: wholeNumber(1).prefault(2).describe('Consecutive fails that roll back'),
  critical: z.boolean({error: 'must be true or false'}).prefault(false).describe('Roll back on the first fail'),
  noData: z.enum(['hold', 'fail'], {error: 'must be one of hold, fail'}).prefault('hold'),
  errorLimit: wholeNumber(1).prefault(4),
  failClosed: z.boolean({error: 'must be true or false'}).prefault(false),
  window: duration().optional().describe('Default: gates.window'),
  minPasses: wholeNumber(1).prefault(3),
  judge: z
    .enum(['threshold', 'sequential'], {error: 'must be one of threshold, sequential'})
    .optional()
    .describe('threshold (default): each window against max/min and the baseline; sequential: an anytime-valid test on per-interval counts (docs/metrics.md)'),
  alpha: z
    .number({error: 'must be a number between 0 and 0.5'})
    .gt(0, {error: 'must be a number between 0 and 0.5'})
    .max(0.5, {error: 'must be a number between 0 and 0.5'})
    .optional()
    .describe('judge: sequential — the chance of ever rolling back a version no worse than the baseline allows; default 0.01'),
  overdispersion: z
    .number({error: 'must be a number of at least 1'})
    .min(1, {error: 'must be a number of at least 1'})
    .optional()
    .describe('judge: sequential — how many times more variable the counts are than chance; default 1'),
}).superRefine((input, ctx) => {
  if (input.histogram !== undefined) {
    const other = (['errors', 'total', 'query'] as const).find((key) => input[key] !== undefined)
    if (other) ctx.addIssue({code: 'custom', path: [other], message: 'must not be set with histogram: a check is a histogram, a ratio or a value'})
    if (!input.baseline) ctx.addIssue({code: 'custom', path: ['baseline'], message: 'must be set for a histogram check: its buckets are compared with the stable version', params: {found: 'nothing'}})
    if (input.judge === 'threshold') ctx.addIssue({code: 'custom', path: ['judge'], message: 'must be sequential (or left out) for a histogram check'})
    return
  }
  if (input.max === undefined && input.min === undefined && !(input.judge === 'sequential' && input.baseline)) {
    ctx.addIssue({code: 'custom', message: 'must set a limit, max or min', params: {found: 'neither'}})
  }

  if (input.max !== undefined && input.min !== undefined && input.min > input.max) {
    ctx.addIssue({code: 'custom', path: ['min'], message: `must be at most max (${input.max})`})
  }
  const ratio = [input.errors, input.total].filter((q) => q !== undefined).length
  if (ratio === 1) {
    ctx.addIssue({
      code: 'custom',
      path: [input.errors === undefined ? 'errors' : 'total'],
      message: 'must be set too: a ratio check needs both errors and total',
    })
  }
  if (ratio > 0 && input.query !== undefined) {
    ctx.addIssue({code: 'custom', path: ['query'], message: 'must not be set with errors/total: a check is a ratio or a value, not both'})
  }
})

const gates = strictObject({
  interval: duration().prefault('30s').describe('How often every check is measured'),
  window: duration().prefault('5m').describe('The range {window} stands for'),
  checks: z.array(check, {error: 'must be a list of checks'}).min(1, {error: 'must list at least one check'}),
}).describe('May be left out: plan and start then warn that nothing guards the run')

// ── notify ──────────────────────────────────────────────────────────────────

const NOTIFY_EVENTS = ['step', 'paused', 'rolled_back', 'completed'] as const

const notify = z
  .array(
    strictObject({
      webhook: httpUrl(),
      on: z
        .array(z.enum(NOTIFY_EVENTS, {error: `must be one of ${NOTIFY_EVENTS.join(', ')}`}), {
          error: `must be a list of events: ${NOTIFY_EVENTS.join(', ')}`,
        })
        .min(1, {error: 'must list at least one event'})
        .prefault([...NOTIFY_EVENTS]),
    }),
    {error: 'must be a list of {webhook, on}'},
  )
  .prefault([])

// ── the whole file ──────────────────────────────────────────────────────────

export const grayConfigSchema = strictObject({
  service,
  state,
  hosts,
  deploy,
  gateway,
  traffic,
  steps,
  metrics,
  gates: gates.optional(),
  notify,
  hooks: hooks.optional(),
}, 'a mapping of gray.yaml keys: service, hosts, deploy, gateway, …').transform((input): ParsedConfig => {
  const parsed = input.gateway as GatewayConfig
  const complete = gatewayRegistration<GatewayConfig>(parsed.type).complete
  const gateway = complete ? complete(parsed, input.service) : parsed
  return {
    service: input.service,
    state: input.state,
    hosts: input.hosts.hosts,
    ...(input.hosts.inventory ? {inventory: input.hosts.inventory} : {}),
    deploy: input.deploy,
    gateway,
    traffic: input.traffic.tag ? input.traffic : {sticky: input.traffic.sticky, rules: input.traffic.rules, rotate: input.traffic.rotate},
    steps: input.steps,
    metrics: input.metrics as Record<string, MetricSourceConfig>,
    ...(input.gates ? {gates: normaliseGates(input.gates)} : {}),
    notify: input.notify,
    ...(input.hooks ? {hooks: dropUndefined(input.hooks)} : {}),
  }
})

type GatesInput = z.output<typeof gates>

function normaliseGates(input: GatesInput): NonNullable<ParsedConfig['gates']> {
  return {
    intervalMs: input.interval,
    windowMs: input.window,
    checks: input.checks.map(({window, ...rest}): Check =>
      dropUndefined({...rest, ...(rest.histogram !== undefined ? {judge: 'sequential' as const} : {}), windowMs: window ?? input.window}),
    ),
  }
}

/** optional keys the user left out stay absent rather than present-but-undefined */
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

/** The blocks a run of kind config (./config-run.ts) shares with a run on hosts, and how they are normalised. */
export const SHARED_BLOCKS = {service, state, traffic, steps, metrics, gates, notify, hooks, normaliseGates, dropUndefined}
