import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { nextFire, type ScheduleSpec } from '../schedule.js';
import { scheduleKey, type ScheduleTarget, type SchedulerPort, type TickHandler } from './scheduler.js';

const MAX_TIMEOUT = 2 ** 31 - 1;

/** In-process schedules (embedded mode): one timer per target, re-armed after each tick. */
export class MemoryScheduler implements SchedulerPort {
  private readonly entries = new Map<string, { target: ScheduleTarget; spec: ScheduleSpec; timer?: NodeJS.Timeout }>();
  private handler: TickHandler | undefined;
  private closed = false;

  constructor(private readonly deps: { clock: Clock; logger: Logger }) {}

  async upsert(target: ScheduleTarget, spec: ScheduleSpec): Promise<void> {
    await this.remove(target);
    const entry = { target, spec } as { target: ScheduleTarget; spec: ScheduleSpec; timer?: NodeJS.Timeout };
    this.entries.set(scheduleKey(target), entry);
    if (this.handler) this.arm(scheduleKey(target));
  }

  async remove(target: ScheduleTarget): Promise<void> {
    const e = this.entries.get(scheduleKey(target));
    if (e?.timer) clearTimeout(e.timer);
    this.entries.delete(scheduleKey(target));
  }

  async start(handler: TickHandler): Promise<void> {
    this.handler = handler;
    for (const key of this.entries.keys()) this.arm(key);
  }

  private arm(key: string, after?: Date): void {
    const e = this.entries.get(key);
    if (!e || this.closed) return;
    const now = this.deps.clock.now();
    const at = nextFire(e.spec, after && after > now ? after : now);
    const wait = Math.min(MAX_TIMEOUT, Math.max(0, at.getTime() - now.getTime()));
    e.timer = setTimeout(() => {
      if (this.entries.get(key) !== e || this.closed) return;
      if (this.deps.clock.now() < at) return this.arm(key); // a long wait was capped; keep waiting
      this.arm(key, at);
      this.handler?.(e.target, at).catch((err: unknown) => this.deps.logger.error({ err, key }, 'scheduled tick failed'));
    }, wait);
    e.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    this.entries.clear();
  }
}
