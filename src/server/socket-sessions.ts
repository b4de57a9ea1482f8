import type { Principal } from '../auth/tokens.js';
import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import type { Logger } from '../lib/logger.js';

/**
 * Close codes a socket ends with when its credentials stop being valid (documented in the README).
 * graphql-ws' own codes stay as they are: 4403 also for a bad or missing token at `connection_init`.
 */
export const SocketCloseCode = {
  /** The access token the socket authenticated with expired: reconnect with a fresh one. */
  TokenExpired: 4401,
  /** The login was revoked (logout, refresh-token reuse) or the token is not acceptable. */
  Forbidden: 4403,
} as const;

type Close = (code: number, reason: string) => void;

/** setTimeout's longest delay; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Holds each authenticated socket to the lifetime of its credentials: it closes with 4401 when the
 * access token expires and with 4403 when its login is revoked (on any replica: revocations arrive on
 * the `session-revoked` topic).
 */
export class SocketSessions {
  private readonly bySession = new Map<string, Set<Close>>();
  /** Logins revoked while this process ran, until no access token of theirs can still be valid. */
  private readonly revoked = new Map<string, number>();
  private unsubscribe?: Unsubscribe;

  constructor(private readonly deps: { pubsub: PubSub; logger: Logger; now: () => number; accessTokenTtlMs: number }) {}

  /**
   * True when this login was revoked: HTTP then treats its still-unexpired access tokens as invalid too.
   * Known from the revocations this process heard (a replica started later relies on token expiry).
   */
  isRevoked(sessionId: string | undefined): boolean {
    if (!sessionId) return false;
    const until = this.revoked.get(sessionId);
    if (until === undefined) return false;
    if (until > this.deps.now()) return true;
    this.revoked.delete(sessionId);
    return false;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.pubsub.subscribe('session-revoked', '*', ({ sessionId }) => {
      const now = this.deps.now();
      this.revoked.set(sessionId, now + this.deps.accessTokenTtlMs);
      if (this.revoked.size > 10_000) for (const [k, until] of this.revoked) if (until <= now) this.revoked.delete(k);
      const closers = this.bySession.get(sessionId);
      if (!closers) return;
      this.deps.logger.info({ sessionId, sockets: closers.size }, 'login revoked: closing its sockets');
      for (const close of [...closers]) close(SocketCloseCode.Forbidden, 'Session revoked');
    });
  }

  /** The access token behind this principal has expired. */
  expired(principal: Principal): boolean {
    return principal.expiresAtMs !== undefined && principal.expiresAtMs <= this.deps.now();
  }

  /** Watch one socket; returns the function that stops watching it (call it when the socket closes). */
  track(principal: Principal, close: Close): () => void {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (principal.expiresAtMs === undefined) return;
      const left = principal.expiresAtMs - this.deps.now();
      if (left <= 0) return close(SocketCloseCode.TokenExpired, 'Token expired');
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    const sid = principal.sessionId;
    if (sid) {
      const set = this.bySession.get(sid) ?? new Set<Close>();
      set.add(close);
      this.bySession.set(sid, set);
    }
    return () => {
      clearTimeout(timer);
      if (!sid) return;
      const set = this.bySession.get(sid);
      set?.delete(close);
      if (set && set.size === 0) this.bySession.delete(sid);
    };
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.bySession.clear();
  }
}
