import { describe, expect, it } from 'vitest';
import { BurstRecorder, summarize } from './fanout-bursts.js';

/** A recorder on a hand-driven clock (epoch ms). */
function recorder(start: number) {
  let t = start;
  const r = new BurstRecorder(() => t);
  return { r, advance: (ms: number) => (t += ms), now: () => t };
}

describe('BurstRecorder', () => {
  it('groups the quotes of one tick (same timestamp) into one burst: lag of the first, drain to the end of the last', () => {
    const at = Date.parse('2026-01-05T09:15:00.000Z');
    const { r, advance } = recorder(at + 4); // the first quote reaches the fan-out 4 ms after the tick
    for (let i = 0; i < 3; i++) r.time('2026-01-05T09:15:00.000Z', 200, () => advance(10)); // 3 instruments × 10 ms
    advance(1000 - 34);
    r.time('2026-01-05T09:15:01.000Z', 100, () => advance(2));
    const bursts = r.recent(60_000);
    expect(bursts).toHaveLength(2);
    expect(bursts[0]).toEqual({ at, lagMs: 4, drainMs: 30, busyMs: 30, messages: 3, deliveries: 600 });
    expect(bursts[1]).toMatchObject({ lagMs: 0, drainMs: 2, messages: 1, deliveries: 100 });
  });

  it('summarises only the bursts of the window, with µs of delivery work per delivery', () => {
    const at = Date.parse('2026-01-05T09:15:00.000Z');
    const { r, advance } = recorder(at);
    for (let s = 0; s < 30; s++) {
      r.time(new Date(at + s * 1000).toISOString(), 1000, () => advance(20));
      advance(980);
    }
    const last10 = r.summary(10_000);
    expect(last10.bursts).toBe(10);
    expect(last10.drainP99).toBe(20);
    expect(last10.deliveriesPerBurst).toBe(1000);
    expect(last10.busyUsPerDelivery).toBeCloseTo(20, 6);
    expect(summarize([])).toMatchObject({ bursts: 0, drainP99: 0, busyUsPerDelivery: 0 });
  });
});
