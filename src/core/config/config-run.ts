// gray.yaml of a run of kind config (docs/config-release.md): a value released in gray through
// a config store instead of a version on hosts. It has no hosts, deploy or gateway; the
// `config:` block becomes the run's gateway (src/adapters/gateways/config/), and the steps,
// gates, traffic rules, notifications and hooks are those of any run.
import {z} from 'zod'

import {CONFIG_STORES, type ConfigGatewayConfig} from '../../adapters/gateways/config/registration.js'
import type {GrayConfig} from './model.js'
import {isFields} from './plain.js'
import {SHARED_BLOCKS} from './schema.js'
import {duration, httpUrl, label, strictObject, text} from './values.js'

type ParsedConfig = Omit<GrayConfig, 'file'>

const KEY = 'a key like /app/feature.json'

const block = strictObject({
  store: z.enum(CONFIG_STORES, {error: `must be one of ${CONFIG_STORES.join(', ')}`}).describe('The config store: etcd (its v3 JSON API, etcd 3.4 and later)'),
  endpoints: z
    .array(httpUrl('an http(s) URL like http://127.0.0.1:2379'), {error: 'must be a list of URLs like [http://127.0.0.1:2379]'})
    .min(1, {error: 'must list at least one URL'})
    .describe("The store's client URLs, tried in order"),
  key: label(KEY).describe('The official key every reader outside gray reads; promote writes the new value here'),
  grayKey: label(KEY).optional().describe('Where gray users read the new value while the run lasts; default <key>.gray'),
  policyKey: label(KEY).optional().describe('Where the policy document that says who is a gray user is written; default <key>.gray-policy'),
  value: strictObject({file: text('a file path').describe('The new value, byte for byte; relative to this file')}).describe(
    'The new value: {file: PATH}. Only its sha256 goes into the journal',
  ),
  username: label('a user name').optional(),
  password: text('a password').optional().describe('A secret: write "${ETCD_PASSWORD}"'),
  timeout: duration().prefault('5s').describe('The total time one request to the store may take'),
})
  .superRefine((c, ctx) => {
    const gray = c.grayKey ?? `${c.key}.gray`
    const policy = c.policyKey ?? `${c.key}.gray-policy`
    if (gray === c.key) ctx.addIssue({code: 'custom', path: ['grayKey'], message: 'must differ from key'})
    if (policy === c.key || policy === gray) ctx.addIssue({code: 'custom', path: ['policyKey'], message: 'must differ from key and grayKey'})
    if ((c.username === undefined) !== (c.password === undefined)) {
      ctx.addIssue({code: 'custom', path: [c.username === undefined ? 'username' : 'password'], message: 'must be set too: etcd authenticates with both username and password', params: {found: 'nothing'}})
    }
  })
  .transform(
    (c): ConfigGatewayConfig => ({
      type: 'config',
      store: c.store,
      endpoints: c.endpoints,
      key: c.key,
      grayKey: c.grayKey ?? `${c.key}.gray`,
      policyKey: c.policyKey ?? `${c.key}.gray-policy`,
      valueFile: c.value.file,
      ...(c.username !== undefined ? {username: c.username} : {}),
      ...(c.password !== undefined ? {password: c.password} : {}),
      timeoutMs: c.timeout,
    }),
  )

const {service, state, traffic, steps, metrics, gates, notify, hooks, normaliseGates, dropUndefined} = SHARED_BLOCKS

/** Nothing is deployed in a config run: the engine finds no host, so this command never runs. */
const NO_DEPLOY: GrayConfig['deploy'] = {type: 'command', command: [], concurrency: 1, timeoutMs: 1000, retries: 0}

export const configRunSchema = strictObject(
  {
    service,
    kind: z.literal('config', {error: 'must be config (a configuration release), or left out (a release on hosts)'}),
    config: block,
    state,
    traffic,
    steps,
    metrics,
    gates: gates.optional(),
    notify,
    hooks: hooks.optional(),
  },
  'a mapping of gray.yaml keys: service, kind, config, …',
).transform(
  (input): ParsedConfig => ({
    service: input.service,
    kind: 'config',
    state: input.state,
    hosts: {stable: [], gray: []},
    deploy: NO_DEPLOY,
    gateway: input.config,
    traffic: input.traffic.tag ? input.traffic : {sticky: input.traffic.sticky, rules: input.traffic.rules},
    steps: input.steps,
    metrics: input.metrics as GrayConfig['metrics'],
    ...(input.gates ? {gates: normaliseGates(input.gates)} : {}),
    notify: input.notify,
    ...(input.hooks ? {hooks: dropUndefined(input.hooks)} : {}),
  }),
)

/** gray.yaml says `kind: config` */
export function isConfigRun(document: unknown): boolean {
  return isFields(document) && document.kind === 'config'
}
