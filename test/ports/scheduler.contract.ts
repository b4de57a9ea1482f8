import { afterEach, describe, expect, it } from 'vitest';
import type { ScheduleTarget, SchedulerPort } from '../../src/strategies/scheduler/scheduler.js';
import { sleep, waitFor } from './helpers.js';

/** Every second, so the suite is quick (the one-minute floor is the services' rule, not the port's). */
const EVERY_SECOND = { cron: '* * * * * *', timezone: 'UTC' };

/**
 * The contract every schedule adapter passes: ticks at the cron's times for the right target, upsert is
 * idempotent, remove stops ticks, and (distributed adapters) a tick reaches one of several workers.
 */
export function schedulerContract(name: string, opts: { distributed: boolean; create: (ns: string) => SchedulerPort }) {
  describe(`scheduler port: ${name}`, () => {
    const open: SchedulerPort[] = [];
    const make = (ns: string) => {
      const s = opts.create(ns);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('delivers ticks for its target at the times the cron names, once per upsert however often it is repeated', async () => {
      const s = make(`a${Date.now()}`);
      const target: ScheduleTarget = { kind: 'strategy', id: 'one' };
      const ticks: { t: ScheduleTarget; at: Date }[] = [];
      await s.start(async (t, at) => void ticks.push({ t, at }));
      await s.upsert(target, EVERY_SECOND);
      await s.upsert(target, EVERY_SECOND);
      await waitFor('three ticks', () => ticks.length >= 3, 8_000);
      expect(ticks.every((x) => x.t.kind === 'strategy' && x.t.id === 'one')).toBe(true);
      expect(ticks.every((x) => x.at.getUTCMilliseconds() === 0)).toBe(true);
      const times = ticks.map((x) => x.at.getTime());
      expect(new Set(times).size).toBe(times.length);
    });

    it('stops ticking once removed', async () => {
      const s = make(`b${Date.now()}`);
      const target: ScheduleTarget = { kind: 'screener', id: 'two' };
      let n = 0;
      await s.start(async () => void n++);
      await s.upsert(target, EVERY_SECOND);
      await waitFor('a tick', () => n >= 1, 8_000);
      await s.remove(target);
      await sleep(300);
      const after = n;
      await sleep(2_300);
      expect(n).toBe(after);
    });

    it.runIf(opts.distributed)('delivers each tick to exactly one of two workers', async () => {
      const ns = `c${Date.now()}`;
      const a = make(ns);
      const b = make(ns);
      const seen: number[] = [];
      const handler = async (_t: ScheduleTarget, at: Date) => void seen.push(at.getTime());
      await a.start(handler);
      await b.start(handler);
      await a.upsert({ kind: 'strategy', id: 'shared' }, EVERY_SECOND);
      await b.upsert({ kind: 'strategy', id: 'shared' }, EVERY_SECOND);
      await waitFor('four ticks', () => seen.length >= 4, 10_000);
      expect(new Set(seen).size).toBe(seen.length);
    });
  });
}
