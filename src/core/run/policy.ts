// Builds the policy the gateway should serve for a moment of the run.
import type {GrayConfig, Host, Step} from '../config/model.js'
import type {Policy} from '../ports.js'
import {grayUpstream, stableUpstream, type RunState} from './state.js'

const plainHost = ({name, address}: Host): Host => ({name, address})

export function revisionFor(state: Pick<RunState, 'runId' | 'lastSeq'>): string {
  // the seq of the publish.started event about to be written: unique in the run
  return `${state.runId}.${state.lastSeq + 1}`
}

export function splitPolicy(
  config: GrayConfig,
  state: RunState,
  options: {weightBp: number; rules: boolean; exclude?: readonly string[]},
): Policy {
  const exclude = new Set(options.exclude ?? [])
  return {
    service: config.service,
    revision: revisionFor(state),
    mode: 'split',
    weightBp: options.weightBp,
    sticky: config.traffic.sticky,
    // the seed run.started froze: every publish of the run (and a takeover's) hashes the same users
    ...(state.cohortSeed ? {seed: state.cohortSeed} : {}),
    rules: options.rules ? config.traffic.rules : [],
    tag: config.traffic.tag,
    stable: stableUpstream(state).filter((h) => !exclude.has(h.address)).map(plainHost),
    gray: grayUpstream(state).filter((h) => !exclude.has(h.address)).map(plainHost),
  }
}

/** No split, no rules: every host of the service in one upstream. */
export function plainPolicy(config: GrayConfig, state: Pick<RunState, 'runId' | 'lastSeq'>, hosts?: Host[]): Policy {
  return {
    service: config.service,
    revision: revisionFor(state),
    mode: 'plain',
    weightBp: 0,
    sticky: config.traffic.sticky,
    rules: [],
    stable: (hosts ?? [...config.hosts.gray, ...config.hosts.stable]).map(plainHost),
    gray: [],
  }
}

/** The percent a published policy sends to gray: a plain policy is 100 once the run completed (every host runs the new version), else 0. */
export function percentToGray(policy: {mode: string; weightBp: number}, completed: boolean): number {
  return policy.mode === 'plain' ? (completed ? 100 : 0) : policy.weightBp / 100
}

/** All traffic to gray, in basis points. */
export const FULL_WEIGHT_BP = 10_000

/** Weight percent (two decimals, as split_clients) to basis points. */
export function toBasisPoints(weight: number): number {
  return Math.round(weight * 100)
}

/** A step's weight in basis points: the one place the engine reads gray.yaml's percent. */
export function stepWeightBp(step: Pick<Step, 'weight'>): number {
  return toBasisPoints(step.weight)
}

/** Basis points as percent, for what is written in percent: the journal's step and hook lines, hook environments. */
export function toPercent(weightBp: number): number {
  return weightBp / 100
}

/** How many stable hosts must run the new version by step `index` (targets only grow). */
export function convertTarget(steps: readonly Step[], stableCount: number, index: number): number {
  let target = 0
  for (const step of steps.slice(0, index + 1)) {
    if (!step.hosts) continue
    const n = 'count' in step.hosts ? step.hosts.count : Math.ceil((stableCount * step.hosts.percent) / 100)
    target = Math.max(target, Math.min(n, stableCount))
  }
  return target
}
