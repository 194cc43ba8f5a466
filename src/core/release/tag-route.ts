// How a downstream service of a release routes (issue 16): while the release splits traffic at
// the entry, by the entry's tag alone — weight 0, one rule on the tag header, the same tag passed
// on to its gray hosts — and afterwards in its plain form again. Pure: the policies, no publishing.
import {createHash} from 'node:crypto'
import type {Host, Rule, StickyKey, Tag} from '../config/model.js'
import {ConfigError} from '../errors.js'
import type {Policy} from '../ports.js'
import {revisionFor} from '../run/policy.js'

/** What a downstream service's policy is made of: its own hosts and sticky key. */
export interface DownstreamRoute {
  service: string
  /** hosts running the version the release replaces */
  stable: Host[]
  /** hosts running the release's version */
  gray: Host[]
  /** the service's own sticky key: a policy needs one, though at weight 0 nothing hashes it */
  sticky: StickyKey
}

/** Where in a journal the publish happens, as for a run's policies (revisionFor): unique per publish. */
export interface RevisionBase {
  runId: string
  lastSeq: number
}

/** The one rule of a tag route: the tag header carries exactly the entry's tag value. */
export function tagRule(tag: Tag): Rule {
  return {kind: 'equals', field: {source: 'header', name: tag.header}, value: tag.value}
}

/**
 * Gray only for requests that carry the entry's tag: the entry's gateway sets it on its gray
 * requests only (and strips a forged one on the way to stable), its gray hosts forward it, and
 * this gateway sets it again on its own gray requests, so the tag reaches the next hop.
 */
export function tagRoutePolicy(downstream: DownstreamRoute, tag: Tag, at: RevisionBase): Policy {
  if (!tag.header || !tag.value) {
    throw new ConfigError(`${downstream.service} cannot route by the tag: the entry's tag needs a header and a value`, 'set traffic.tag.header and traffic.tag.value in the entry service\'s gray.yaml')
  }
  if (downstream.gray.length === 0) {
    throw new ConfigError(`${downstream.service} cannot route by the tag: it lists no gray hosts`, `list hosts.gray in ${downstream.service}'s gray.yaml`)
  }
  requireStable(downstream, downstream.stable)
  return withRevision(
    {
      service: downstream.service,
      mode: 'split',
      weightBp: 0,
      sticky: plainSticky(downstream.sticky),
      rules: [tagRule(tag)],
      tag: {header: tag.header, value: tag.value},
      stable: downstream.stable.map(plainHost),
      gray: downstream.gray.map(plainHost),
    },
    at,
  )
}

/**
 * The plain form the downstream returns to: one upstream, no rules, no tag. `serving` are the hosts
 * in it — by default the stable ones, because a release's rollback returns downstream routing to
 * plain before it reverts the gray hosts (which still run the release's version then); completion
 * passes every host once all run the new version.
 */
export function plainRoutePolicy(downstream: DownstreamRoute, at: RevisionBase, serving: Host[] = downstream.stable): Policy {
  requireStable(downstream, serving)
  return withRevision(
    {service: downstream.service, mode: 'plain', weightBp: 0, sticky: plainSticky(downstream.sticky), rules: [], stable: serving.map(plainHost), gray: []},
    at,
  )
}

function requireStable(downstream: DownstreamRoute, hosts: Host[]): void {
  if (hosts.length === 0) throw new ConfigError(`${downstream.service} has no stable hosts to route to`, `list hosts.stable in ${downstream.service}'s gray.yaml`)
}

const plainHost = ({name, address}: Host): Host => ({name, address})
const plainSticky = (sticky: StickyKey): StickyKey => (sticky.kind === 'ip' ? {kind: 'ip'} : {kind: sticky.kind, name: sticky.name})

/**
 * The run's form of revision (unique per publish in its journal) followed by a digest of everything
 * else in the policy, so a policy that differs in any part — hosts, tag, sticky key, mode — never
 * shares a revision with another, also when two are built at the same place in the journal.
 */
function withRevision(body: Omit<Policy, 'revision'>, at: RevisionBase): Policy {
  // every object above is built here with its keys in a fixed order, so the same inputs give the same text
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)
  return {...body, revision: `${revisionFor(at)}.${body.mode === 'plain' ? 'plain' : 'tag'}-${digest}`}
}
