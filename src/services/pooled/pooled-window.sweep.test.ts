import { afterEach, describe, expect, it, vi } from 'vitest';
import { PooledWindowService } from './pooled-window.service.js';
import type { PooledRepository } from './pooled.repository.js';
import type { ParentDriver } from './parent-driver.service.js';
import { silentLogger } from '../../lib/logger.js';

/** The window service with no accounts: only its sweep of stalled parents runs. */
function fixture(stalled: string[], driving: Set<string>) {
  const looks: Date[] = [];
  const driven: string[] = [];
  const repo = {
    listAccounts: async () => [],
    stalledParents: async (olderThan: Date) => {
      looks.push(olderThan);
      return stalled;
    },
  } as unknown as PooledRepository;
  const driver = {
    isDriving: (id: string) => driving.has(id),
    drive: async (id: string) => void driven.push(id),
  } as unknown as ParentDriver;
  const now = new Date('2026-11-30T10:00:00.000Z');
  const service = new PooledWindowService({
    db: {} as never,
    clock: { now: () => now },
    logger: silentLogger,
    relay: {} as never,
    instruments: {} as never,
    repo,
    driver,
  });
  return { service, looks, driven, now };
}

describe('the sweep of stalled pooled parents', () => {
  afterEach(() => vi.restoreAllMocks());

  it('looks for children unchanged for 5 s, at most once per 5 s, not at every 250 ms tick', async () => {
    const f = fixture(['p1'], new Set());
    let t = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => t);
    await f.service.closeDueWindows();
    t += 250;
    await f.service.closeDueWindows();
    t += 4_500;
    await f.service.closeDueWindows();
    expect(f.looks).toEqual([new Date(f.now.getTime() - 5_000)]);
    t += 250; // 5 s after the first look
    await f.service.closeDueWindows();
    expect(f.looks).toHaveLength(2);
    expect(f.driven).toEqual(['p1', 'p1']);
  });

  it('does not drive again a parent this process is driving', async () => {
    const f = fixture(['busy', 'dead'], new Set(['busy']));
    await f.service.closeDueWindows();
    expect(f.driven).toEqual(['dead']);
  });
});
