import { BrokerAuthError } from '../broker.js';
import type { AppCredentials, BrokerSession } from './connector.js';
import type { BrokerSessions, OpenConnection, OrderRefs } from './sessions.js';

/**
 * In-memory {@link BrokerSessions} and {@link OrderRefs}, for adapter tests (conformance, wire) that
 * need no database. The app uses the database-backed ones in src/services/brokers/.
 */
export class MemorySessions implements BrokerSessions {
  private readonly rows = new Map<string, OpenConnection & { status: string; reason?: string }>();

  add(connectionId: string, broker: string, app: AppCredentials, session: BrokerSession): void {
    this.rows.set(connectionId, { connectionId, broker, accountId: session.accountId ?? null, app, session, status: 'ACTIVE' });
  }

  status(connectionId: string): string | undefined {
    return this.rows.get(connectionId)?.status;
  }

  async open(connectionId: string): Promise<OpenConnection> {
    const r = this.rows.get(connectionId);
    if (!r || r.status !== 'ACTIVE') throw new BrokerAuthError('broker connection is not active; reconnect it');
    if (r.session.expiresAt && Date.parse(r.session.expiresAt) <= Date.now()) {
      r.status = 'EXPIRED';
      throw new BrokerAuthError('broker session expired; reconnect it');
    }
    return { connectionId, broker: r.broker, accountId: r.accountId, app: r.app, session: r.session };
  }

  async expire(connectionId: string, reason: string): Promise<void> {
    const r = this.rows.get(connectionId);
    if (r) Object.assign(r, { status: 'EXPIRED', reason });
  }

  async active(broker: string): Promise<Array<{ connectionId: string; accountId: string | null }>> {
    return [...this.rows.values()].filter((r) => r.broker === broker && r.status === 'ACTIVE').map((r) => ({ connectionId: r.connectionId, accountId: r.accountId }));
  }
}

export class MemoryOrderRefs implements OrderRefs {
  private readonly refs = new Map<string, string>();
  async remember(broker: string, account: string, ref: string, clientOrderId: string): Promise<boolean> {
    const k = `${broker}|${account}|${ref}`;
    if (this.refs.has(k)) return false;
    this.refs.set(k, clientOrderId);
    return true;
  }
  async clientOrderIdOf(broker: string, account: string, ref: string): Promise<string | null> {
    return this.refs.get(`${broker}|${account}|${ref}`) ?? null;
  }
}

export class MemoryBrokerInstruments {
  private readonly tokens = new Map<string, string>();
  set(broker: string, exchange: string, symbol: string, token: string): this {
    this.tokens.set(`${broker}|${exchange}|${symbol}`, token);
    return this;
  }
  async tokenOf(broker: string, exchange: string, symbol: string): Promise<string | null> {
    return this.tokens.get(`${broker}|${exchange}|${symbol}`) ?? null;
  }
}
