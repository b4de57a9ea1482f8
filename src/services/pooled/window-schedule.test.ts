import { describe, expect, it } from 'vitest';
import { PooledWindowSchedule } from './window-schedule.js';

/** A queue that records the schedule's state, and a pooled-account table the test changes mid-call. */
function fixture(accountsAtLooks: boolean[]) {
  const calls: string[] = [];
  let scheduled = false;
  const looks = [...accountsAtLooks];
  const schedule = new PooledWindowSchedule({
    queue: {
      repeat: async (name, _data, spec) => {
        calls.push(`repeat ${name} ${spec.everyMs}`);
        scheduled = true;
      },
      unrepeat: async (name) => {
        calls.push(`unrepeat ${name}`);
        scheduled = false;
      },
    },
    tickMs: 250,
    anyAccount: async () => looks.shift() ?? false,
  });
  return { schedule, calls, scheduled: () => scheduled };
}

describe('the pooled window tick runs only while a pooled account exists', () => {
  it('removes the tick at a worker start when there is no pooled account', async () => {
    const f = fixture([false, false]);
    expect(await f.schedule.sync()).toBe(false);
    expect(f.scheduled()).toBe(false);
    expect(f.calls).toEqual(['unrepeat pooled-window']);
  });

  it('schedules the tick at a worker start when an account exists', async () => {
    const f = fixture([true]);
    expect(await f.schedule.sync()).toBe(true);
    expect(f.calls).toEqual(['repeat pooled-window 250']);
  });

  it('keeps the tick of an account created between the first look and the removal', async () => {
    // The account commits (and schedules the tick) after the first look, before the removal: the second
    // look sees it and schedules the tick again.
    const f = fixture([false, true]);
    expect(await f.schedule.sync()).toBe(true);
    expect(f.scheduled()).toBe(true);
    expect(f.calls).toEqual(['unrepeat pooled-window', 'repeat pooled-window 250']);
  });

  it('schedules the tick when an account is created', async () => {
    const f = fixture([]);
    await f.schedule.accountCreated();
    expect(f.scheduled()).toBe(true);
  });
});
