// The sequential judge's statistics (docs/metrics.md "judge: sequential"): anytime-valid
// tests on per-interval error counts, safe to look at after every interval.
//
// Comparison with stable. In an interval where gray served n_g requests and stable n_s,
// an error that happened came from gray with probability θ = s·ρ / (s·ρ + 1 − s), where
// s = n_g / (n_g + n_s) is gray's observed share and ρ = p_gray / p_stable the ratio of
// their error rates (errors as Poisson counts). Conditional on the interval's errors,
// gray's errors are Binomial(errors, θ): traffic swings and incidents that hit both
// versions change the number of errors, not θ, so they cancel. The null is ρ ≤ r
// (r = baseline.maxIncrease). For each ratio ρ_j = r·2^(j/8) on a fixed grid we keep
// ℓ_j, the log likelihood ratio of ρ_j against r summed over the intervals; for ρ_j > r
// exp(ℓ_j) is a test supermartingale under every ρ ≤ r, whatever s does between
// intervals (see docs), so a fixed mixture of them over j > 0 is an e-process; the run
// rolls back when it reaches 1/α (Ville's inequality bounds the chance of that ever
// happening under the null by α, however often it is looked at).
//
// SLO. Gray's own bad events against the limit m: X bad out of N, null p ≤ m, the same
// construction on a grid of log-odds above logit(m) (one-sample binomial mixture SPRT).
//
// Overdispersion φ divides every count before it enters a likelihood: error rates that
// vary beyond chance (per host, per minute) make counts φ times as variable as Poisson.
//
// Everything here is pure and deterministic: the evidence is journaled with each
// measurement and replayed, so a driver that takes over continues it exactly.

import type {SampleRatio} from './sample-ratio.js'

/** Grid step of the log ratio: eight points per doubling. */
export const GRID_STEP = Math.LN2 / 8
/** Grid half-width: ratios from r/64 to 64·r. */
export const GRID_HALF = 48
const GRID_SIZE = 2 * GRID_HALF + 1

/** Spread (natural log units) of the mixture over log(ρ/r) in the one-sided test. */
export const TEST_PRIOR_SD = 0.6
/** Spread of the two-sided mixture the confidence sequence for ρ is read from. */
export const CS_PRIOR_SD = 1
/** Spread of the mixture over log-odds above the limit in the SLO test. */
export const SLO_PRIOR_SD = 1

/** Counts of one cohort over one interval (or a run, summed). */
export interface Counts {
  bad: number
  total: number
}

/** What the run keeps between measurements: journaled, replayed, continued. */
export interface Evidence {
  /** the ratio r the grid is centred on (baseline.maxIncrease) */
  ratio: number
  /** ℓ_j for j = -48..48 (index j+48); ℓ_0 = 0. Empty until the first comparable interval. Packed (packLl) */
  ll: Ll
  /** intervals that entered the comparison */
  intervals: number
  /** counts summed over the run, as read (before the overdispersion factor) */
  gray: Counts
  stable: Counts
  /** the sample-ratio check's state (./sample-ratio.ts); absent until an interval had both cohorts' requests */
  srm?: SampleRatio
  /** the comparison restarted at the current step's start (see stepMixtureLogE); absent in a one-step view */
  step?: {index: number; ll: Ll; delta?: Ll}
  /** baseline.minDelta > 0: the test of "worse than both r× and +minDelta" (addDeltaInterval), per λ of DELTA_LAMBDAS */
  delta?: {minDelta: number; ll: Ll}
  /** histogram checks: the comparison of "slower than le" per bucket bound, by String(le) */
  buckets?: Record<string, Evidence>
}

/**
 * A vector of log likelihood ratios as the journal holds it: packed into a short string
 * (packLl), or a plain array (journals written before packing, and tests). Every value is a
 * whole number of micro-nats (roundLl), so packing is exact: unpackLl(packLl(ll)) has the very
 * same doubles, and a driver that takes over from the journal continues bit for bit.
 */
export type Ll = readonly number[] | string

/** Micro-nat integers, the first as it is and then second differences (the vector is smooth), base 36, comma-separated. */
export function packLl(ll: readonly number[]): string {
  let [prev, step] = [0, 0]
  return ll
    .map((x) => {
      const k = Math.round(x * 1e6)
      const d = k - prev
      const out = d - step
      ;[prev, step] = [k, d]
      return out.toString(36)
    })
    .join(',')
}

export function unpackLl(ll: Ll | undefined): number[] {
  if (ll === undefined) return []
  if (typeof ll !== 'string') return [...ll]
  if (ll === '') return []
  let [k, d] = [0, 0]
  return ll.split(',').map((text) => {
    d += Number.parseInt(text, 36)
    k += d
    return k / 1e6
  })
}

export function emptyEvidence(ratio: number): Evidence {
  return {ratio, ll: [], intervals: 0, gray: {bad: 0, total: 0}, stable: {bad: 0, total: 0}}
}

// rounded to a micro-nat: short in the journal (every measurement holds the evidence), and the
// same value in memory and in the journal, so a driver that takes over continues it bit for bit
// (at most 5e-7 nats of rounding per interval: 0.01 nats over 20,000 intervals)
const roundLl = (x: number) => Math.round(x * 1e6) / 1e6

/** ρ_j / r for grid index i (j = i − 48). */
export function gridRatio(i: number): number {
  return Math.exp((i - GRID_HALF) * GRID_STEP)
}

/**
 * Adds one interval's counts (already divided by φ) to the comparison's log likelihood
 * ratios. Returns the same ll when the interval carries no information (no errors, or
 * one cohort served nothing: then every error is that cohort's, whatever ρ is).
 */
export function addInterval(ll: readonly number[], ratio: number, gray: Counts, stable: Counts): number[] {
  const errors = gray.bad + stable.bad
  if (!(gray.total > 0 && stable.total > 0 && errors > 0)) return [...ll]
  const s = gray.total / (gray.total + stable.total)
  const out = ll.length === GRID_SIZE ? [...ll] : new Array<number>(GRID_SIZE).fill(0)
  const base = Math.log1p(s * (ratio - 1))
  for (let i = 0; i < GRID_SIZE; i++) {
    const d = (i - GRID_HALF) * GRID_STEP
    const rho = ratio * Math.exp(d)
    // x·log(θ_j/θ_0) + y·log((1−θ_j)/(1−θ_0)) = x·d − (x+y)·log((sρ_j+1−s)/(s·r+1−s))
    out[i] = roundLl((out[i] as number) + gray.bad * d - errors * (Math.log1p(s * (rho - 1)) - base))
  }
  return out
}

export function logSumExp(xs: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY
  for (const x of xs) if (x > max) max = x
  if (max === Number.NEGATIVE_INFINITY) return max
  let sum = 0
  for (const x of xs) sum += Math.exp(x - max)
  return max + Math.log(sum)
}

/** log Σ_i w_i·exp(ℓ_i) for log weights (−Infinity where a point is left out). */
export function logMixture(ll: readonly number[], logWeights: readonly number[]): number {
  if (ll.length === 0) return logSumExp(logWeights)
  return logSumExp(logWeights.map((w, i) => w + (ll[i] ?? 0)))
}

function normalWeights(sd: number, keep: (j: number) => boolean): number[] {
  const raw = Array.from({length: GRID_SIZE}, (_, i) => {
    const j = i - GRID_HALF
    return keep(j) ? -((j * GRID_STEP) ** 2) / (2 * sd * sd) : Number.NEGATIVE_INFINITY
  })
  const norm = logSumExp(raw)
  return raw.map((w) => w - norm)
}

/** The one-sided test's mixture: a half-normal over log(ρ/r) > 0, on the grid, summing to 1. */
export const TEST_WEIGHTS: readonly number[] = normalWeights(TEST_PRIOR_SD, (j) => j > 0)
/** The confidence sequence's mixture: a normal over log(ρ/r), on the grid, summing to 1. */
export const CS_WEIGHTS: readonly number[] = normalWeights(CS_PRIOR_SD, () => true)

/** log of the comparison's e-value: the evidence that ρ > r. 0 before any information. */
export function comparisonLogE(ev: Evidence): number {
  const ll = unpackLl(ev.ll)
  return ll.length === 0 ? 0 : logMixture(ll, TEST_WEIGHTS)
}

export interface RatioEstimate {
  /** the ratio ρ with the highest likelihood (grid, refined by a parabola); null without information */
  ratio: number | null
  /** a (1−α) confidence sequence for ρ: time-uniform, valid at every look; null ends are unbounded */
  low: number | null
  high: number | null
}

/**
 * The estimate of ρ and its confidence sequence {ρ_k : M/exp(ℓ_k) < 1/α}, where M is the
 * two-sided mixture: for each ρ_k, M/exp(ℓ_k) is a mixture of likelihood ratios against
 * ρ_k, an e-process under ρ = ρ_k, so ρ stays in the set at every look with chance ≥ 1−α.
 * Reported as the set's hull on the grid; an end at the grid's edge is open (null).
 */
export function ratioEstimate(ev: Evidence, alpha: number): RatioEstimate {
  const ll = unpackLl(ev.ll)
  if (ll.length !== GRID_SIZE) return {ratio: null, low: null, high: null}
  const m = logMixture(ll, CS_WEIGHTS)
  const cut = m - Math.log(1 / alpha)
  let best = 0
  let lo = -1
  let hi = -1
  for (let i = 0; i < GRID_SIZE; i++) {
    const l = ll[i] as number
    if (l > (ll[best] as number)) best = i
    if (l > cut) {
      if (lo < 0) lo = i
      hi = i
    }
  }
  let at = best
  if (best > 0 && best < GRID_SIZE - 1) {
    const [a, b, c] = [ll[best - 1] as number, ll[best] as number, ll[best + 1] as number]
    const curve = a - 2 * b + c
    if (curve < 0) at = best + (0.5 * (a - c)) / curve
  }
  const r = ev.ratio
  return {
    ratio: r * gridRatio(at),
    low: lo <= 0 ? null : r * gridRatio(lo),
    high: hi < 0 || hi >= GRID_SIZE - 1 ? null : r * gridRatio(hi),
  }
}

// ── minDelta: gray's rate more than stable's plus a fixed amount ─────────────
//
// gray is no worse when p_gray ≤ max(r·p_stable, p_stable + δ) (δ = baseline.minDelta), in
// every interval: "ρ ≤ r" or "p_gray − p_stable ≤ δ", and which of the two holds may change
// from one interval to the next as stable's rate moves. The test keeps, per λ of a grid, the
// product over intervals of min(R_λ, D_λ), two factors that each have expectation at most 1
// under one side of that union, so their minimum has it under either:
// - R_λ: the ratio test's factor above for ρ = r·e^λ (expectation ≤ 1 given the interval's
//   errors whenever ρ ≤ r);
// - D_λ = exp(λ·x − μ·y − n_g·δ·(e^λ − 1)), e^{−μ} = 1 − c·(e^λ − 1), c = n_g/n_s, for x of n_g
//   gray errors and y of n_s stable ones: with Poisson-dominated counts (E e^{λX} ≤
//   exp(n·p·(e^λ − 1))), E D_λ ≤ exp(p_stable·(n_g·(e^λ − 1) + n_s·(e^{−μ} − 1))) = 1 whenever
//   p_gray ≤ p_stable + δ, whatever p_stable is in that interval: μ makes it drop out (an
//   interval where c·(e^λ − 1) ≥ 1 bets nothing on this side).
// So the product is a test supermartingale for each λ, and their average is an e-process.

/** λ grid of the minDelta test: 2^(k/2 − 8), 1/256 to √2 (ratios r·1.004 to r·4.1). */
export const DELTA_LAMBDAS: readonly number[] = Array.from({length: 18}, (_, k) => 2 ** (k / 2 - 8))
const DELTA_LOG_WEIGHT = -Math.log(DELTA_LAMBDAS.length)

/** Adds one interval's counts (already divided by φ) to the minDelta test's log e-values. */
export function addDeltaInterval(ll: readonly number[], ratio: number, minDelta: number, gray: Counts, stable: Counts): number[] {
  const out = ll.length === DELTA_LAMBDAS.length ? [...ll] : new Array<number>(DELTA_LAMBDAS.length).fill(0)
  if (!(gray.total > 0 && stable.total > 0)) return out
  const c = gray.total / stable.total
  const s = gray.total / (gray.total + stable.total)
  const errors = gray.bad + stable.bad
  const base = Math.log1p(s * (ratio - 1))
  DELTA_LAMBDAS.forEach((lambda, k) => {
    const grow = Math.expm1(lambda)
    const r = errors > 0 ? gray.bad * lambda - errors * (Math.log1p(s * (ratio * Math.exp(lambda) - 1)) - base) : 0
    const d = c * grow < 1 ? lambda * gray.bad + Math.log1p(-c * grow) * stable.bad - gray.total * minDelta * grow : 0
    out[k] = roundLl((out[k] as number) + Math.min(r, d))
  })
  return out
}

/** log e-value that gray's rate exceeds both r × stable's and stable's + minDelta; 0 before any interval. */
export function deltaLogE(ll: readonly number[]): number {
  return ll.length === 0 ? 0 : logSumExp(ll.map((l) => l + DELTA_LOG_WEIGHT))
}

// ── SLO: one cohort's rate against a fixed limit ────────────────────────────

const SLO_WEIGHTS = normalWeights(SLO_PRIOR_SD, (j) => j > 0)

const logit = (p: number) => Math.log(p / (1 - p))
const expit = (x: number) => 1 / (1 + Math.exp(-x))

/**
 * log e-value that the bad-event rate exceeds `limit`, from X bad of N (already divided
 * by φ): a mixture over log-odds above logit(limit) of binomial likelihood ratios, each a
 * test supermartingale under every rate ≤ limit. A limit of 0 is breached by any bad
 * event (no false alarm is possible); a limit of 1 or more never is.
 */
export function sloLogE(bad: number, total: number, limit: number): number {
  if (!(total > 0) || bad < 0) return 0
  if (limit <= 0) return bad > 0 ? Number.POSITIVE_INFINITY : 0
  if (limit >= 1) return Number.NEGATIVE_INFINITY
  const base = logit(limit)
  const terms = SLO_WEIGHTS.map((w, i) => {
    if (w === Number.NEGATIVE_INFINITY) return w
    const theta = expit(base + (i - GRID_HALF) * GRID_STEP)
    return w + bad * Math.log(theta / limit) + (total - bad) * (Math.log1p(-theta) - Math.log1p(-limit))
  })
  return logSumExp(terms)
}

/**
 * The comparison's log e-value when the run has `steps` steps: half on the evidence since the
 * run began (which is the first step's own), and 1/(2·(steps − 1)) on the evidence since the
 * current step began, for each later step. A regression that starts at a later step need not
 * first undo what the healthy steps before it built up. Valid: every component is a test
 * supermartingale from its start, the weights of all components a run can ever start sum to 1,
 * and dropping the previous step's component only makes the process smaller than that
 * mixture, so Ville's bound still holds.
 */
export function stepMixtureLogE(ev: Evidence, steps: number): number {
  const step = unpackLl(ev.step?.ll)
  return stepMixture(comparisonLogE(ev), step.length > 0 ? logMixture(step, TEST_WEIGHTS) : 0, ev, steps)
}

function stepMixture(run: number, step: number, ev: Evidence, steps: number): number {
  if (steps <= 1) return run
  // during the first step its own component is the run's
  if (!ev.step || ev.step.index === 0) return Math.log(0.5) + run
  return logSumExp([Math.log(0.5) + run, Math.log(0.5 / (steps - 1)) + step])
}

/** The minDelta test's log e-value, mixed over the run and the current step as stepMixtureLogE; null without minDelta. */
export function stepMixtureDeltaLogE(ev: Evidence, steps: number): number | null {
  if (!ev.delta) return null
  return stepMixture(deltaLogE(unpackLl(ev.delta.ll)), deltaLogE(unpackLl(ev.step?.delta)), ev, steps)
}

