import type { AuditPort } from '../people/audit.service.js';
import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, ne } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { brokerConnections } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { Principal } from '../../auth/tokens.js';
import { BadInputError, BrokerAuthRequiredError, BrokerUnavailableError, NotFoundError } from '../../errors.js';
import { BrokerAuthError, BrokerTransientError } from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { CredentialsError, isConnectable, type BrokerAuthFlow, type BrokerConnector } from '../../brokers/connections/connector.js';
import type { ConnectionRepository, ConnectionRow } from './connection.repository.js';
import { assertInteractive } from '../people/access.policy.js';

export interface BrokerInfoView {
  name: string;
  displayName: string;
  authFlow: BrokerAuthFlow;
  markets: string[];
}

/** A connection as the API shows it: never a secret. */
export interface ConnectionView {
  id: string;
  broker: string;
  label: string | null;
  accountId: string | null;
  status: string;
  expiresAt: Date | null;
  lastError: string | null;
  createdAt: Date;
}

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/**
 * Broker connections: start (redirect URL with a `state` bound to this user and connection, or an
 * immediate session for API-key brokers), complete (callback or PIN/TOTP), disconnect, and the check the
 * order path makes before trading. Secrets go into the vault and never come back out through here.
 */
export class ConnectionService {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      brokers: BrokerRegistry;
      repo: ConnectionRepository;
      publicUrl: string;
      /** The audit log: connections made and revoked (never their secrets). */
      audit?: AuditPort;
    },
  ) {}

  brokers(): BrokerInfoView[] {
    return this.deps.brokers.all().map((a) =>
      isConnectable(a)
        ? { name: a.name, displayName: a.connector.displayName, authFlow: a.connector.authFlow, markets: a.connector.markets }
        : { name: a.name, displayName: a.name === 'paper' ? 'Paper trading (simulated exchange)' : a.name, authFlow: 'NONE' as const, markets: ['NSE', 'BSE', 'NASDAQ', 'NYSE'] },
    );
  }

  redirectUri(broker: string): string {
    return `${this.deps.publicUrl.replace(/\/+$/, '')}/brokers/${broker}/callback`;
  }

  private view(r: ConnectionRow): ConnectionView {
    const expired = r.status === 'ACTIVE' && this.deps.repo.isExpired(r) && !this.refreshable(r);
    return { id: r.id, broker: r.broker, label: r.label, accountId: r.accountId, status: expired ? 'EXPIRED' : r.status, expiresAt: r.expiresAt, lastError: r.lastError, createdAt: r.createdAt };
  }

  private connector(broker: string): BrokerConnector {
    const a = this.deps.brokers.has(broker) ? this.deps.brokers.get(broker) : null;
    if (!a || !isConnectable(a)) throw new BadInputError(`Unknown broker ${broker}, or one that needs no connection`, 'broker', 'UNKNOWN_BROKER');
    return a.connector;
  }

  /** Can an expired session of this connection renew itself (a refresh grant and what it needs)? */
  private refreshable(r: ConnectionRow): boolean {
    const a = this.deps.brokers.has(r.broker) ? this.deps.brokers.get(r.broker) : null;
    if (!a || !isConnectable(a) || !a.connector.refresh || !r.credentialsSealed) return false;
    try {
      const { app, session } = this.deps.repo.secretsOf(r);
      if (!session) return false;
      return a.connector.canRefresh ? a.connector.canRefresh(app, session) : Boolean(session.refreshToken);
    } catch {
      return false;
    }
  }

  async list(viewer: Principal): Promise<ConnectionView[]> {
    const rows = await this.deps.db.select().from(brokerConnections).where(eq(brokerConnections.userId, viewer.userId)).orderBy(desc(brokerConnections.createdAt));
    return rows.map((r) => this.view(r));
  }

  /** A connection of the viewer's (anyone else's is NOT_FOUND). */
  async own(viewer: Principal, id: string): Promise<ConnectionRow> {
    const r = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.repo.byId(id) : null;
    if (!r || r.userId !== viewer.userId) throw new NotFoundError('BrokerConnection', id);
    return r;
  }

  async start(
    viewer: Principal,
    input: { broker: string; credentials: unknown; label?: string | null; connectionId?: string | null },
  ): Promise<{ connection: ConnectionView; authorizationUrl: string | null }> {
    // Broker credentials are credentials: a person signs in to manage them, never an API key (a leaked
    // TRADE key must not be able to point a portfolio's orders at another broker account).
    assertInteractive(viewer);
    const broker = input.broker.trim().toLowerCase();
    const connector = this.connector(broker);
    const given = (typeof input.credentials === 'object' && input.credentials !== null ? input.credentials : {}) as Record<string, unknown>;
    const label = input.label?.trim() || null;
    if (label && label.length > 100) throw new BadInputError('label must be at most 100 characters', 'label');

    // Reconnecting keeps the connection (and the portfolios on it); new credentials replace the old.
    let row: ConnectionRow;
    let app;
    if (input.connectionId) {
      row = await this.own(viewer, input.connectionId);
      if (row.broker !== broker) throw new BadInputError('That connection is for another broker', 'connectionId', 'BROKER_MISMATCH');
      app = Object.keys(given).length ? this.parse(connector, given) : this.deps.repo.secretsOf(row).app;
    } else {
      app = this.parse(connector, given);
      [row] = await this.deps.db.insert(brokerConnections).values({ userId: viewer.userId, broker, label, status: 'PENDING' }).returning();
    }
    const state = randomBytes(24).toString('base64url');
    row = (await this.deps.repo.update(row.id, { ...this.deps.repo.sealFor(row.id, { app }), status: 'PENDING', stateHash: hashState(state), lastError: null, ...(label ? { label } : {}) }))!;
    const ctx = { redirectUri: this.redirectUri(broker), state, now: this.deps.clock.now() };

    const flow = connector.flowFor?.(app) ?? connector.authFlow;
    if (flow === 'OAUTH_REDIRECT' && connector.authorizationUrl) {
      return { connection: this.view(row), authorizationUrl: connector.authorizationUrl(app, ctx) };
    }
    if (flow === 'API_KEY' || flow === 'GATEWAY') {
      // GATEWAY (IBKR): the user logged in at their gateway already; connecting checks it at once.
      return { connection: await this.finish(row, {}), authorizationUrl: null };
    }
    return { connection: this.view(row), authorizationUrl: null }; // LOGIN_TOTP: completeBrokerConnection next
  }

  private parse(connector: BrokerConnector, given: Record<string, unknown>) {
    try {
      return connector.parseCredentials(given);
    } catch (err) {
      if (err instanceof CredentialsError) throw new BadInputError(err.message, err.field, 'INVALID_CREDENTIALS');
      throw err;
    }
  }

  /** completeBrokerConnection: PIN + TOTP (Angel One), or a request token / code pasted by hand. */
  async complete(viewer: Principal, connectionId: string, credentials: unknown): Promise<ConnectionView> {
    assertInteractive(viewer);
    const row = await this.own(viewer, connectionId);
    if (row.status !== 'PENDING') throw new BadInputError(`The connection is ${row.status}; start it again to reconnect`, 'connectionId', 'NOT_PENDING');
    const params = Object.fromEntries(
      Object.entries((typeof credentials === 'object' && credentials !== null ? credentials : {}) as Record<string, unknown>).flatMap(([k, v]) =>
        typeof v === 'string' ? [[k, v]] : typeof v === 'number' ? [[k, String(v)]] : [],
      ),
    );
    return this.finish(row, params);
  }

  /** GET /brokers/<name>/callback: the broker sent the user back with our `state`. */
  async callback(broker: string, query: Record<string, string>): Promise<ConnectionView> {
    const state = query.state;
    if (!state) throw new BadInputError('The callback carries no state', 'state', 'MISSING_STATE');
    const [row] = await this.deps.db
      .select()
      .from(brokerConnections)
      .where(and(eq(brokerConnections.stateHash, hashState(state)), eq(brokerConnections.broker, broker)))
      .limit(1);
    if (!row || row.status !== 'PENDING') throw new BadInputError('Unknown or already used state', 'state', 'INVALID_STATE');
    return this.finish(row, query);
  }

  private async finish(row: ConnectionRow, params: Record<string, string>): Promise<ConnectionView> {
    const connector = this.connector(row.broker);
    const { app } = this.deps.repo.secretsOf(row);
    const ctx = { redirectUri: this.redirectUri(row.broker), state: '', now: this.deps.clock.now() };
    try {
      const session = await connector.complete(app, params, ctx);
      const updated = await this.deps.repo.update(row.id, {
        ...this.deps.repo.sealFor(row.id, { app, session }),
        status: 'ACTIVE',
        stateHash: null,
        accountId: session.accountId ?? row.accountId,
        expiresAt: session.expiresAt ? new Date(session.expiresAt) : null,
        lastError: null,
      });
      this.deps.logger.info({ connectionId: row.id, broker: row.broker }, 'broker connected');
      await this.audit(row.userId, 'broker_connection.connected', row.id, { broker: row.broker, accountId: session.accountId ?? row.accountId });
      return this.view(updated!);
    } catch (err) {
      if (err instanceof CredentialsError) throw new BadInputError(err.message, err.field, 'INVALID_CREDENTIALS');
      if (err instanceof BrokerTransientError) {
        // Not an answer about the login: the broker was not reached (or was busy). It stays PENDING, and
        // the same completion may be sent again.
        const reason = err.message.slice(0, 300);
        await this.deps.repo.update(row.id, { lastError: reason });
        this.deps.logger.warn({ connectionId: row.id, broker: row.broker, reason }, 'broker unavailable during login');
        throw new BrokerUnavailableError(row.broker, err);
      }
      if (err instanceof BrokerAuthError || (err as Error).name === 'BrokerRejectedError') {
        const reason = (err as Error).message.slice(0, 300);
        await this.deps.repo.update(row.id, { status: 'ERROR', lastError: reason });
        throw new BadInputError(`The broker did not accept the login: ${reason}`, 'credentials', 'BROKER_LOGIN_FAILED');
      }
      throw err;
    }
  }

  async disconnect(viewer: Principal, id: string): Promise<ConnectionView> {
    assertInteractive(viewer);
    const row = await this.own(viewer, id);
    const updated = await this.deps.repo.update(row.id, { status: 'REVOKED', credentialsSealed: null, keyId: null, stateHash: null });
    await this.audit(viewer.userId, 'broker_connection.revoked', row.id, { broker: row.broker });
    return this.view(updated!);
  }

  private async audit(actorId: string, action: string, subjectId: string, data: Record<string, unknown>): Promise<void> {
    await this.deps.audit?.record({ actorId, action, subjectId, data }).catch((err: unknown) => this.deps.logger.warn({ err, connectionId: subjectId }, 'broker connection not audited'));
  }

  /**
   * Before an order is recorded: the portfolio's connection must be ACTIVE (or refreshable), else
   * BROKER_AUTH_REQUIRED at once, and nothing goes to the broker until the user reconnects.
   */
  async assertTradable(connectionId: string): Promise<void> {
    const row = await this.deps.repo.byId(connectionId);
    if (!row) throw new BrokerAuthRequiredError(connectionId, 'REVOKED');
    if (row.status === 'ACTIVE' && this.deps.repo.isExpired(row) && !this.refreshable(row)) {
      await this.deps.repo.expire(row.id, `session expired at ${row.expiresAt?.toISOString()}; reconnect`);
      throw new BrokerAuthRequiredError(connectionId, 'EXPIRED');
    }
    if (row.status !== 'ACTIVE') throw new BrokerAuthRequiredError(connectionId, row.status);
  }

  /** For createPortfolio: the viewer's connection to use, which must not be revoked. */
  async forPortfolio(viewer: Principal, id: string): Promise<ConnectionView> {
    const [row] = await this.deps.db
      .select()
      .from(brokerConnections)
      .where(and(eq(brokerConnections.id, id), eq(brokerConnections.userId, viewer.userId), ne(brokerConnections.status, 'REVOKED')))
      .limit(1)
      .catch(() => []);
    if (!row) throw new NotFoundError('BrokerConnection', id);
    return this.view(row);
  }
}
