import type { Principal } from '../auth/tokens.js';
import { RateLimitedError } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';

export interface DoorLimits {
  /** Operations per minute, per user (authenticated) or per IP (anonymous), on HTTP and sockets together. */
  userRequestsPerMinute: number;
  /** Subscribe messages per minute on one socket. */
  socketSubscribesPerMinute: number;
  /** Live subscriptions on one socket. */
  maxSubscriptionsPerSocket: number;
  /** Live subscriptions of one user, over all of its sockets on this process. */
  maxSubscriptionsPerUser: number;
}

/** The bucket an operation is charged to: the user when authenticated, else the client's address. */
export function rateKey(who: Principal | null, ip: string | undefined): string {
  return who ? `rl:user:${who.userId}` : `rl:ip:${ip ?? 'unknown'}`;
}

/**
 * One door for every operation, whatever the transport: HTTP requests and graphql-ws messages are
 * charged to the same per-user (or per-IP) bucket in the same rate limiter, so a client cannot step
 * around a limit by switching to a socket. Subscriptions are also limited per socket (how fast they
 * are opened, how many are live) and per user (how many are live).
 */
export class Door {
  private readonly liveByUser = new Map<string, number>();

  constructor(
    private readonly deps: { rateLimiter: RateLimiter; limits: DoorLimits },
  ) {}

  /** Charge one operation; throws RateLimitedError (with retryAfterMs) when the bucket is empty. */
  async admit(who: Principal | null, ip: string | undefined): Promise<void> {
    const wait = await this.deps.rateLimiter.tryAcquire(rateKey(who, ip), { limit: this.deps.limits.userRequestsPerMinute, windowMs: 60_000 });
    if (wait > 0) throw new RateLimitedError(wait);
  }

  /**
   * Admit a new subscription on a socket. Returns a release function (idempotent) to call when it ends.
   * Throws RateLimitedError when the socket opens them too fast or a cap would be passed. The caller
   * must count the subscription on its socket before awaiting this (see {@link reserveSubscription}).
   */
  async openSubscription(who: Principal, socketId: string, liveOnSocket: number): Promise<() => void> {
    const release = this.reserveSubscription(who, liveOnSocket);
    try {
      await this.chargeSubscribe(socketId);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /**
   * Check both caps and take the user's slot in the same synchronous step, so a burst of subscribes
   * cannot all pass the check before any is counted (the check then an await then the count let 80 live
   * on a socket capped at 50). Returns the slot's release (idempotent). Throws RateLimitedError.
   */
  reserveSubscription(who: Principal, liveOnSocket: number): () => void {
    const { limits } = this.deps;
    if (liveOnSocket >= limits.maxSubscriptionsPerSocket) {
      throw new RateLimitedError(1000, { reason: 'SUBSCRIPTIONS_PER_SOCKET', limit: limits.maxSubscriptionsPerSocket });
    }
    const live = this.liveByUser.get(who.userId) ?? 0;
    if (live >= limits.maxSubscriptionsPerUser) {
      throw new RateLimitedError(1000, { reason: 'SUBSCRIPTIONS_PER_USER', limit: limits.maxSubscriptionsPerUser });
    }
    this.liveByUser.set(who.userId, live + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.liveByUser.get(who.userId) ?? 1) - 1;
      if (n <= 0) this.liveByUser.delete(who.userId);
      else this.liveByUser.set(who.userId, n);
    };
  }

  /** Charge one subscribe to the socket's bucket (how fast it opens them); throws RateLimitedError. */
  async chargeSubscribe(socketId: string): Promise<void> {
    const wait = await this.deps.rateLimiter.tryAcquire(`rl:socket:${socketId}`, { limit: this.deps.limits.socketSubscribesPerMinute, windowMs: 60_000 });
    if (wait > 0) throw new RateLimitedError(wait, { reason: 'SUBSCRIBES_PER_SOCKET' });
  }

  /** Live subscriptions of a user on this process (for tests and metrics). */
  liveSubscriptions(userId: string): number {
    return this.liveByUser.get(userId) ?? 0;
  }
}
