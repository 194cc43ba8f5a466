// The validated, normalised configuration the engine works with. The schema in
// ./schema.ts parses gray.yaml into exactly this shape (durations in ms, hosts
// as {name, address}, defaults filled in).
import type {RegisteredGatewayConfig} from '../../adapters/gateways/registry.js'
import type {RegisteredSourceConfig} from '../../adapters/metrics/registry.js'

export interface Host {
  name: string
  /** host:port the gateway proxies to */
  address: string
}

/** `hosts.stable` / `hosts.gray` read when a run starts (src/services/inventory.ts): an argv that prints the hosts as JSON, or a JSON/YAML file. */
export type InventorySource = {kind: 'command'; command: string[]; timeoutMs: number} | {kind: 'file'; file: string}

export type HostPool = 'stable' | 'gray'

export type StickyKey =
  | {kind: 'cookie' | 'header' | 'query'; name: string}
  | {kind: 'ip'}

/** A request matching ANY rule always goes to gray (even at weight 0 while a run is live). */
export type Rule =
  | {kind: 'equals'; field: Field; value: string}
  | {kind: 'in'; field: Field; values: string[]}
  | {kind: 'prefix'; field: Field; value: string}
  | {kind: 'range'; field: Field; min: number; max: number}
  | {kind: 'cidr'; cidrs: string[]}

export interface Field {
  source: 'header' | 'cookie' | 'query'
  name: string
}

export interface Tag {
  header: string
  value: string
}

export interface Step {
  /** percent of traffic, 0..100 (two decimals allowed, as nginx split_clients) */
  weight: number
  bakeMs: number
  pause: boolean
  /** stable hosts to convert to the new version before this step's weight is applied */
  hosts?: HostShare
}

export interface HealthCheck {
  url: string
  expect: number
  timeoutMs: number
  intervalMs: number
}

/** A count of hosts, or a share of them (rounded down, at least 1). */
export type HostShare = {count: number} | {percent: number}

export type KnownHostsPolicy = 'strict' | 'accept-new' | 'off'

/** With `deploy.ssh`, `deploy.command` is the argv run on the host over ssh. */
export interface SshOptions {
  user?: string
  port?: number
  identityFile?: string
  /** strict: the host key must be known; accept-new: learn unknown keys, refuse changed ones; off: never check */
  knownHosts: KnownHostsPolicy
  knownHostsFile?: string
  connectTimeoutMs: number
}

export interface CommandDeploy {
  type: 'command'
  command: string[]
  concurrency: number
  timeoutMs: number
  retries: number
  health?: HealthCheck
  /** hosts out of service at once while converting and completing; absent: 25% of all hosts */
  maxUnavailable?: HostShare
  /** share of all hosts whose completion deploy may fail and the run still completes; absent: 0 */
  maxFailPercent?: number
  ssh?: SshOptions
}

export type DeployConfig = CommandDeploy

// Each gateway's and metric source's block is declared in its own folder
// (src/adapters/*/<type>/registration.ts); the unions are what the registries list.
export type {SandboxGatewayConfig} from '../../adapters/gateways/sandbox/registration.js'
export type {NginxGatewayConfig} from '../../adapters/gateways/nginx/registration.js'
export type {ApisixGatewayConfig} from '../../adapters/gateways/apisix/registration.js'
export type {HttpGatewayConfig} from '../../adapters/gateways/http/registration.js'
export type {HaproxyGatewayConfig} from '../../adapters/gateways/haproxy/registration.js'
export type {BfeApiGatewayConfig, BfeGatewayConfig} from '../../adapters/gateways/bfe/registration.js'
export type {ShenyuGatewayConfig} from '../../adapters/gateways/shenyu/registration.js'
export type {ScrapeSourceConfig} from '../../adapters/metrics/scrape/registration.js'
export type {PrometheusSourceConfig} from '../../adapters/metrics/prometheus/registration.js'
export type {SentrySourceConfig} from '../../adapters/metrics/sentry/registration.js'
export type {CommandSourceConfig} from '../../adapters/metrics/command/registration.js'

/** One instance of a fleet: its name, and the keys it sets differently from the gateway block. */
export type GatewayInstance<T> = {name: string} & Partial<Omit<T, 'type' | 'instances'>>

export type GatewayConfig = RegisteredGatewayConfig

export type MetricSourceConfig = RegisteredSourceConfig

export type NoDataPolicy = 'hold' | 'fail'

export interface Check {
  name: string
  source: string
  /** ratio checks: errors / total, each a query in the source's language */
  errors?: string
  total?: string
  /** value checks: one query that yields the value itself */
  query?: string
  /** sentry: the release whose crash-free rate is read */
  release?: string
  /** histogram checks: a query yielding one series per bucket bound `le` (cumulative counts); always judged sequentially */
  histogram?: string
  max?: number
  min?: number
  baseline?: {maxIncrease: number; minDelta: number}
  minSamples: number
  failures: number
  critical: boolean
  noData: NoDataPolicy
  errorLimit: number
  failClosed: boolean
  windowMs: number
  minPasses: number
  /** how a measurement is judged: threshold (each window against the limits; the default) or sequential (docs/metrics.md) */
  judge?: 'threshold' | 'sequential'
  /** sequential: the chance of ever rolling back a version that is no worse (default 0.01) */
  alpha?: number
  /** sequential: how much more variable counts are than chance (default 1: not at all) */
  overdispersion?: number
}

export interface Gates {
  intervalMs: number
  windowMs: number
  checks: Check[]
}

export type NotifyEvent = 'step' | 'paused' | 'rolled_back' | 'completed'

export interface Notify {
  webhook: string
  on: NotifyEvent[]
}

export const HOOK_STAGES = ['beforeDeploy', 'afterDeploy', 'beforeTraffic', 'afterTraffic', 'onRollback', 'onComplete'] as const
export type HookStage = (typeof HOOK_STAGES)[number]

/** Commands (argv) run at the stages of a run; a failing before-hook holds the run. */
export type Hooks = {timeoutMs: number} & Partial<Record<HookStage, string[]>>

/** `state:` in gray.yaml; no backend means local */
export type StateSettings = {dir: string; backend?: 'local'} | {dir: string; backend: 'postgres'; url: string}

export interface GrayConfig {
  /** absolute path of the file this came from */
  file: string
  service: string
  /** config: a value released through a config store (docs/config-release.md); absent: a version on hosts */
  kind?: 'config'
  state: StateSettings
  /** a pool read from an inventory is empty here until resolveInventory (src/services/inventory.ts) fills it */
  hosts: {stable: Host[]; gray: Host[]}
  /** the pools gray.yaml reads from an inventory; absent in a resolved config */
  inventory?: Partial<Record<HostPool, InventorySource>>
  deploy: DeployConfig
  gateway: GatewayConfig
  /** rotate: a new run picks its own cohort seed (docs/cohort.md); false, the same users every release; absent counts as true */
  traffic: {sticky: StickyKey; rules: Rule[]; tag?: Tag; rotate?: boolean}
  steps: Step[]
  metrics: Record<string, MetricSourceConfig>
  /** absent: nothing guards the run, and plan/start warn */
  gates?: Gates
  notify: Notify[]
  hooks?: Hooks
}
