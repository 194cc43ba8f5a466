// The validated, normalised configuration the engine works with. The schema in
// ./schema.ts parses gray.yaml into exactly this shape (durations in ms, hosts
// as {name, address}, defaults filled in).

export interface Host {
  name: string
  /** host:port the gateway proxies to */
  address: string
}

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

export interface SandboxGatewayConfig {
  type: 'sandbox'
  /** where the sandbox proxy takes user traffic, host:port */
  listen: string
  /** where its control plane listens, host:port */
  admin: string
}

/** One instance of a fleet: its name, and the keys it sets differently from the gateway block. */
export type GatewayInstance<T> = {name: string} & Partial<Omit<T, 'type' | 'instances'>>

export interface NginxGatewayConfig {
  type: 'nginx'
  include: string
  variable: string
  test: string[]
  reload: string[]
  instances?: GatewayInstance<NginxGatewayConfig>[]
}

export interface ApisixGatewayConfig {
  type: 'apisix'
  url: string
  routeId: string
  key?: string
  instances?: GatewayInstance<ApisixGatewayConfig>[]
}

export interface HttpGatewayConfig {
  type: 'http'
  url: string
  token?: string
  instances?: GatewayInstance<HttpGatewayConfig>[]
}

export interface HaproxyGatewayConfig {
  type: 'haproxy'
  /** the configuration fragment gray owns (loaded with its own -f) */
  fragment: string
  /** the Runtime API: a unix socket path, or ipv4@host:port */
  socket: string
  /** bind lines of gray's frontend for the service */
  bind: string[]
  test: string[]
  reload: string[]
  instances?: GatewayInstance<HaproxyGatewayConfig>[]
}

export interface BfeGatewayConfig {
  type: 'bfe'
  /** files (the default): gray writes BFE's conf files and reloads them */
  mode?: 'files'
  /** BFE's conf directory (server_data_conf/, cluster_conf/, mod_header/ below it) */
  conf: string
  /** BFE's monitor port, where /reload/NAME reloads a config */
  monitor: string
  /** the BFE product whose route rules gray owns */
  product: string
  instances?: GatewayInstance<BfeGatewayConfig>[]
}

/** BFE through its API server (bfenetworks/api-server open-api), which conf-agent exports to BFE */
export interface BfeApiGatewayConfig {
  type: 'bfe'
  mode: 'api'
  /** the API server, like http://127.0.0.1:8183 (gray adds /open-api/v1) */
  url: string
  /** an API token (Authorization: Token …), with the Product scope of `product` */
  token: string
  /** the BFE product whose routes and clusters gray owns */
  product: string
  /** the BFE clusters (BFE instance pools) whose scheduler sends gray's clusters to their sub-cluster */
  bfeClusters: string[]
  instances?: GatewayInstance<BfeApiGatewayConfig>[]
}

export interface ShenyuGatewayConfig {
  type: 'shenyu'
  /** the ShenYu Admin API, like http://127.0.0.1:9095 */
  url: string
  userName: string
  password: string
  instances?: GatewayInstance<ShenyuGatewayConfig>[]
}

export type GatewayConfig = ShenyuGatewayConfig | SandboxGatewayConfig | NginxGatewayConfig | ApisixGatewayConfig | HttpGatewayConfig | HaproxyGatewayConfig | BfeGatewayConfig | BfeApiGatewayConfig

export interface ScrapeSourceConfig {
  type: 'scrape'
  /** path of the metrics endpoint on every host */
  path: string
  timeoutMs: number
}

export interface PrometheusSourceConfig {
  type: 'prometheus'
  url: string
  timeoutMs: number
  token?: string
}

export interface SentrySourceConfig {
  type: 'sentry'
  url: string
  org: string
  project: string
  token?: string
  timeoutMs: number
}

export interface CommandSourceConfig {
  type: 'command'
  command: string[]
  timeoutMs: number
}

export type MetricSourceConfig = ScrapeSourceConfig | PrometheusSourceConfig | SentrySourceConfig | CommandSourceConfig

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
  state: StateSettings
  hosts: {stable: Host[]; gray: Host[]}
  deploy: DeployConfig
  gateway: GatewayConfig
  traffic: {sticky: StickyKey; rules: Rule[]; tag?: Tag}
  steps: Step[]
  metrics: Record<string, MetricSourceConfig>
  /** absent: nothing guards the run, and plan/start warn */
  gates?: Gates
  notify: Notify[]
  hooks?: Hooks
}
