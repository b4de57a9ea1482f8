import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { brokerConnections, brokerOrderRefs } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { BrokerAuthError, BrokerTransientError } from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { isConnectable, type AppCredentials, type BrokerSession } from '../../brokers/connections/connector.js';
import type { BrokerSessions, OpenConnection, OrderRefs } from '../../brokers/connections/sessions.js';
import type { Vault } from '../../brokers/connections/vault.js';

export type ConnectionRow = typeof brokerConnections.$inferSelect;

/** What is sealed in a connection row: the user's app credentials and, once connected, the session. */
export interface ConnectionSecrets {
  app: AppCredentials;
  session?: BrokerSession;
}

/**
 * The one place that reads and writes broker_connections and unseals them. Adapters see it as
 * {@link BrokerSessions}: credentials of ACTIVE connections only, expiry and refresh handled here.
 */
export class ConnectionRepository implements BrokerSessions, OrderRefs {
  /** Refreshes under way in this process, per connection: callers arriving meanwhile share the answer. */
  private readonly refreshing = new Map<string, Promise<ConnectionSecrets>>();

  constructor(
    private readonly deps: {
      db: Db;
      vault: Vault;
      clock: Clock;
      logger: Logger;
      brokers: BrokerRegistry;
      /** A lock shared by every process (Postgres advisory lock); absent in the one-process embedded mode. */
      lock?: <T>(key: number, fn: () => Promise<T>) => Promise<T>;
    },
  ) {}

  async byId(id: string): Promise<ConnectionRow | null> {
    const [r] = await this.deps.db.select().from(brokerConnections).where(eq(brokerConnections.id, id)).limit(1);
    return r ?? null;
  }

  secretsOf(row: ConnectionRow): ConnectionSecrets {
    if (!row.credentialsSealed) throw new BrokerAuthError('broker connection has no credentials; reconnect it');
    return this.deps.vault.open<ConnectionSecrets>(row.credentialsSealed, row.id);
  }

  sealFor(id: string, secrets: ConnectionSecrets): { credentialsSealed: string; keyId: string } {
    return { credentialsSealed: this.deps.vault.seal(secrets, id), keyId: this.deps.vault.keyId };
  }

  async update(id: string, set: Partial<typeof brokerConnections.$inferInsert>): Promise<ConnectionRow | null> {
    const [r] = await this.deps.db
      .update(brokerConnections)
      .set({ ...set, updatedAt: this.deps.clock.now() })
      .where(eq(brokerConnections.id, id))
      .returning();
    return r ?? null;
  }

  /** Is this ACTIVE connection past its token's life? */
  isExpired(row: ConnectionRow): boolean {
    return Boolean(row.expiresAt && row.expiresAt.getTime() <= this.deps.clock.now().getTime());
  }

  async open(connectionId: string): Promise<OpenConnection> {
    const row = await this.byId(connectionId);
    if (!row || row.status !== 'ACTIVE') throw new BrokerAuthError(`broker connection is ${row?.status ?? 'missing'}; reconnect it`);
    let secrets = this.secretsOf(row);
    if (!secrets.session) throw new BrokerAuthError('broker connection has no session; reconnect it');
    if (this.isExpired(row)) secrets = await this.refreshOrExpire(row, secrets);
    return { connectionId, broker: row.broker, accountId: row.accountId, app: secrets.app, session: secrets.session! };
  }

  /**
   * Refresh where the broker has a refresh grant; otherwise (or if it fails) the connection is EXPIRED.
   * One refresh per connection at a time, across processes: a rotating refresh token (TradeStation,
   * Fyers) can be spent once, so a second process refreshing the same token would lose and expire the
   * connection. Under the lock the row is read again, and a session another process refreshed meanwhile
   * is used as it is.
   */
  private refreshOrExpire(row: ConnectionRow, secrets: ConnectionSecrets): Promise<ConnectionSecrets> {
    const running = this.refreshing.get(row.id);
    if (running) return running;
    const once = async (): Promise<ConnectionSecrets> => {
      const current = await this.byId(row.id);
      if (!current || current.status !== 'ACTIVE') throw new BrokerAuthError(`broker connection is ${current?.status ?? 'missing'}; reconnect it`);
      if (current.credentialsSealed !== row.credentialsSealed && !this.isExpired(current)) return this.secretsOf(current);
      return this.refreshNow(current, current.credentialsSealed === row.credentialsSealed ? secrets : this.secretsOf(current));
    };
    const job = (this.deps.lock ? this.deps.lock(refreshLockKey(row.id), once) : once()).finally(() => this.refreshing.delete(row.id));
    this.refreshing.set(row.id, job);
    return job;
  }

  private async refreshNow(row: ConnectionRow, secrets: ConnectionSecrets): Promise<ConnectionSecrets> {
    const adapter = this.deps.brokers.has(row.broker) ? this.deps.brokers.get(row.broker) : null;
    const connector = adapter && isConnectable(adapter) ? adapter.connector : null;
    if (connector?.refresh && secrets.session?.refreshToken) {
      try {
        const session = await connector.refresh(secrets.app, secrets.session, this.deps.clock.now());
        const next = { app: secrets.app, session: { ...session, refreshToken: session.refreshToken ?? secrets.session.refreshToken } };
        await this.update(row.id, { ...this.sealFor(row.id, next), expiresAt: session.expiresAt ? new Date(session.expiresAt) : null, lastError: null });
        this.deps.logger.info({ connectionId: row.id, broker: row.broker }, 'broker session refreshed');
        return next;
      } catch (err) {
        this.deps.logger.warn({ connectionId: row.id, broker: row.broker, error: (err as Error).name }, 'broker session refresh failed');
        // The broker was not reached (or answered 5xx): the refresh token may still be good. The connection
        // stays ACTIVE and the caller's step is retried (a job's backoff, a client's BROKER_UNAVAILABLE);
        // only a refusal expires it.
        if (err instanceof BrokerTransientError) throw err;
      }
    }
    await this.expire(row.id, `session expired at ${row.expiresAt?.toISOString()}; reconnect`);
    throw new BrokerAuthError('broker session expired; reconnect it');
  }

  private onExpired?: (e: { connectionId: string; userId: string; broker: string; reason: string; at: Date }) => Promise<void>;

  /** Who is told when a connection expires (the notifications capability: broker_connection.expired). */
  notifyExpiryTo(fn: (e: { connectionId: string; userId: string; broker: string; reason: string; at: Date }) => Promise<void>): void {
    this.onExpired = fn;
  }

  async expire(connectionId: string, reason: string): Promise<void> {
    const at = this.deps.clock.now();
    const [row] = await this.deps.db
      .update(brokerConnections)
      .set({ status: 'EXPIRED', lastError: reason, updatedAt: at })
      .where(and(eq(brokerConnections.id, connectionId), eq(brokerConnections.status, 'ACTIVE')))
      .returning({ userId: brokerConnections.userId, broker: brokerConnections.broker });
    this.deps.logger.warn({ connectionId, reason }, 'broker connection expired: orders fail until it is reconnected');
    // Only the move from ACTIVE tells the user (a second expiry of the same session changes nothing).
    if (row && this.onExpired) {
      await this.onExpired({ connectionId, userId: row.userId, broker: row.broker, reason, at }).catch((err: unknown) =>
        this.deps.logger.warn({ err, connectionId }, 'broker expiry notification not queued'),
      );
    }
  }

  async active(broker: string): Promise<Array<{ connectionId: string; accountId: string | null }>> {
    const rows = await this.deps.db
      .select({ connectionId: brokerConnections.id, accountId: brokerConnections.accountId })
      .from(brokerConnections)
      .where(and(eq(brokerConnections.broker, broker), eq(brokerConnections.status, 'ACTIVE')));
    return rows;
  }

  async remember(broker: string, account: string, ref: string, clientOrderId: string): Promise<boolean> {
    const rows = await this.deps.db.insert(brokerOrderRefs).values({ broker, account, ref, clientOrderId }).onConflictDoNothing().returning({ ref: brokerOrderRefs.ref });
    return rows.length > 0;
  }

  async clientOrderIdOf(broker: string, account: string, ref: string): Promise<string | null> {
    const [r] = await this.deps.db
      .select({ id: brokerOrderRefs.clientOrderId })
      .from(brokerOrderRefs)
      .where(and(eq(brokerOrderRefs.broker, broker), eq(brokerOrderRefs.account, account), eq(brokerOrderRefs.ref, ref)))
      .limit(1);
    return r?.id ?? null;
  }
}

/** The advisory lock key of a connection's refresh: 31 bits of a hash of its id, in a namespace of its own. */
function refreshLockKey(connectionId: string): number {
  return createHash('sha256').update(`broker-refresh:${connectionId}`).digest().readUInt32BE(0) & 0x7fffffff;
}
