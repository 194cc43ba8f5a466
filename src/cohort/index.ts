// `gray-release/cohort`: the gateway's own decision, inside a Node service or a
// message router. Given the policy document gray publishes (docs/policy-document.md)
// and a request's or message's attributes, it answers gray or stable and the tag
// exactly as the gateway would: the same rules (src/core/policy/decide.ts) and the
// same hash bucketing (src/core/policy/split.ts). No CLI code is reachable from here.
import type {IncomingMessage} from 'node:http'
import {requestViewOf} from '../core/policy/decide.js'
import {fromDocument, PolicyDocumentError, stickyText, type PolicyDocument, type RuleDocument} from '../core/policy/document.js'
import type {Split} from '../core/policy/split.js'
import type {Policy} from '../core/ports.js'
import {cohortSplit, decisionOf, type CohortAttributes, type CohortDecision, type CohortGateway} from './decision.js'

export {PolicyDocumentError, type PolicyDocument, type RuleDocument}
export type {CohortAttributes, CohortDecision, CohortGateway} from './decision.js'

export interface CohortOptions {
  gateway?: CohortGateway
}

/** A validated policy document, ready to decide many requests. */
export class CohortPolicy {
  readonly service: string
  readonly revision: string
  readonly mode: 'split' | 'plain'
  readonly weightBasisPoints: number
  /** `cookie:NAME`, `header:NAME`, `query:NAME` or `ip` */
  readonly sticky: string
  /** the run's cohort seed the split hashes with (the document's `seed`); null: the key alone */
  readonly seed: string | null
  private readonly policy: Policy
  private readonly split: Split

  /** Throws PolicyDocumentError naming the first wrong field; TypeError for a gateway it cannot reproduce. */
  constructor(document: unknown, options: CohortOptions = {}) {
    this.split = cohortSplit(options.gateway)
    this.policy = fromDocument(document)
    this.service = this.policy.service
    this.revision = this.policy.revision
    this.mode = this.policy.mode
    this.weightBasisPoints = this.policy.weightBp
    this.sticky = stickyText(this.policy.sticky)
    this.seed = this.policy.seed ?? null
  }

  decide(attributes: CohortAttributes): CohortDecision {
    return decisionOf(this.policy, this.split, attributes)
  }
}

/** Validates `document` (a parsed policy document) once; decide with `.decide(attributes)`. */
export function cohortPolicy(document: unknown, options?: CohortOptions): CohortPolicy {
  return new CohortPolicy(document, options)
}

/** One decision; for many, build a CohortPolicy once. */
export function decideCohort(document: unknown, attributes: CohortAttributes, options?: CohortOptions): CohortDecision {
  return new CohortPolicy(document, options).decide(attributes)
}

/** A Node HTTP request's attributes: headers, cookies, query and the socket's client address. */
export function attributesOf(req: IncomingMessage): CohortAttributes {
  const view = requestViewOf(req)
  return {headers: view.headers, cookies: view.cookies, query: view.query, ip: view.ip}
}
