import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Leadership for jobs that must run in exactly one process (the simulated market feed, the paper
 * exchange's resting-order matcher). In Redis: a lease (SET NX PX) renewed while held; a process that
 * dies loses it after `ttlMs` and another takes over. Without Redis there is one process: it leads.
 */
export interface Leadership {
  /** Calls `onElected` when this process becomes leader and `onDeposed` if it loses the lease. */
  start(onElected: () => Promise<void>, onDeposed: () => Promise<void>): Promise<void>;
  isLeader(): boolean;
  /** Give up leadership (and the lease) and stop trying. */
  stop(): Promise<void>;
}

export class SoleLeadership implements Leadership {
  private leader = false;
  private deposed: (() => Promise<void>) | undefined;
  async start(onElected: () => Promise<void>, onDeposed: () => Promise<void>): Promise<void> {
    this.leader = true;
    this.deposed = onDeposed;
    await onElected();
  }
  isLeader(): boolean {
    return this.leader;
  }
  async stop(): Promise<void> {
    if (this.leader) {
      this.leader = false;
      await this.deposed?.();
    }
  }
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisLeadership implements Leadership {
  private readonly redis: Redis;
  private readonly id = randomUUID();
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: { url: string; key: string; ttlMs?: number; logger: Logger },
  ) {
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 2, lazyConnect: false });
    this.redis.on('error', (err) => opts.logger.warn({ err }, 'leadership redis error'));
  }

  private get ttl(): number {
    return this.opts.ttlMs ?? 6000;
  }

  async start(onElected: () => Promise<void>, onDeposed: () => Promise<void>): Promise<void> {
    const step = async () => {
      try {
        if (this.leader) {
          const ok = await this.redis.eval(RENEW, 1, this.opts.key, this.id, String(this.ttl));
          if (ok !== 1) {
            this.leader = false;
            this.opts.logger.warn({ key: this.opts.key }, 'lost leadership');
            await onDeposed();
          }
        } else {
          const ok = await this.redis.set(this.opts.key, this.id, 'PX', this.ttl, 'NX');
          if (ok === 'OK') {
            this.leader = true;
            this.opts.logger.info({ key: this.opts.key }, 'elected leader');
            await onElected();
          }
        }
      } catch (err) {
        this.opts.logger.warn({ err }, 'leadership step failed');
      }
    };
    const loop = () => {
      if (this.stopped) return;
      this.tick = step().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, Math.floor(this.ttl / 3));
      });
    };
    this.deposedHook = onDeposed;
    loop();
    await this.tick;
  }

  private deposedHook: (() => Promise<void>) | undefined;

  isLeader(): boolean {
    return this.leader;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
    if (this.leader) {
      this.leader = false;
      await this.deposedHook?.();
      await this.redis.eval(RELEASE, 1, this.opts.key, this.id).catch(() => undefined);
    }
    this.redis.disconnect();
  }
}
