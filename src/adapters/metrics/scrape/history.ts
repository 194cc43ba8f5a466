// Scrapes kept per host, and counter increases over them as Prometheus's
// increase() counts them: a drop between two scrapes is a reset.
import type {Exposition} from './exposition.js'
import type {Selector} from './selector.js'
import {selects} from './selector.js'

export interface Scrape {
  /** host address */
  host: string
  /** epoch ms */
  at: number
  series: Exposition
}

export class ScrapeHistory {
  private readonly scrapes = new Map<string, Scrape[]>()

  /** Keeps a scrape; a second scrape of a host at the same time replaces the first. */
  add(scrape: Scrape): void {
    const kept = (this.scrapes.get(scrape.host) ?? []).filter((s) => s.at !== scrape.at)
    kept.push(scrape)
    kept.sort((a, b) => a.at - b.at)
    this.scrapes.set(scrape.host, kept)
  }

  /** The host's scrapes from `from` up to and including `to`, oldest first. */
  between(host: string, from: number, to: number): Scrape[] {
    return (this.scrapes.get(host) ?? []).filter((s) => s.at >= from && s.at <= to)
  }

  dropBefore(time: number): void {
    for (const [host, kept] of this.scrapes) {
      const younger = kept.filter((s) => s.at >= time)
      if (younger.length > 0) this.scrapes.set(host, younger)
      else this.scrapes.delete(host)
    }
  }
}

/**
 * How much the selected counters grew along consecutive scrapes. A series
 * absent from the earlier scrape was created in between and counts from 0.
 */
export function increase(chain: readonly Scrape[], selector: Selector): number {
  let total = 0
  for (let i = 1; i < chain.length; i++) {
    const before = (chain[i - 1] as Scrape).series
    for (const [key, sample] of (chain[i] as Scrape).series) {
      if (!selects(selector, sample)) continue
      const now = sample.value
      const then = before.get(key)?.value ?? 0
      if (!Number.isFinite(now) || !Number.isFinite(then)) continue
      total += now >= then ? now - then : now
    }
  }
  return total
}

/** The sum of the selected series' current values; undefined when none is selected. */
export function currentSum(scrape: Scrape, selector: Selector): number | undefined {
  let sum: number | undefined
  for (const sample of scrape.series.values()) {
    if (selects(selector, sample)) sum = (sum ?? 0) + sample.value
  }
  return sum
}
