/**
 * Event-loop delay of a role process over a phase, read from its `/metrics`: prom-client's default
 * metrics sample the loop with `perf_hooks.monitorEventLoopDelay` (a timer every EVENT_LOOP_SAMPLE_MS,
 * src/server/metrics.ts) and reset the histogram
 * on every scrape. So a scrape at the start of a phase clears it, and one at the end gives that phase's
 * figures. A sample is the time between two firings of that timer: the delay a ready callback
 * suffered is the sample minus the interval (with 100 ms, a 30 ms stall shows as a 130 ms sample, i.e. 30 ms).
 */

import { EVENT_LOOP_SAMPLE_MS } from '../../src/server/metrics.js';

/** The sampling interval of prom-client's monitor (the product's `eventLoopMonitoringPrecision`). */
export const LOOP_SAMPLE_MS = EVENT_LOOP_SAMPLE_MS;

export interface LoopDelay {
  /** Delay beyond the sampling interval, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

const NAMES = { p50: 'p50', p90: 'p90', p99: 'p99', max: 'max', mean: 'mean' } as const;

/** Scrape `url` (…/metrics) and return the loop delay since the previous scrape (which this one resets). */
export async function scrapeLoopDelay(url: string, token?: string): Promise<LoopDelay> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const out = {} as LoopDelay;
  for (const [key, name] of Object.entries(NAMES) as [keyof LoopDelay, string][]) {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    const seconds = m ? Number(m[1]) : Number.NaN;
    out[key] = Math.max(0, seconds * 1000 - LOOP_SAMPLE_MS);
  }
  return out;
}

/** Loop delay of several processes over one phase: `start()` clears their histograms, `end()` reads them. */
export class LoopDelayProbe {
  constructor(private readonly targets: { name: string; url: string; token?: string }[]) {}

  async start(): Promise<void> {
    await Promise.all(this.targets.map((t) => scrapeLoopDelay(t.url, t.token).catch(() => undefined)));
  }

  async end(): Promise<Record<string, LoopDelay | undefined>> {
    const read = await Promise.all(this.targets.map((t) => scrapeLoopDelay(t.url, t.token).catch(() => undefined)));
    return Object.fromEntries(this.targets.map((t, i) => [t.name, read[i]]));
  }
}
