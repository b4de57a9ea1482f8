/**
 * A rotating refresh token can be spent once (TradeStation, Fyers): when several callers, or several
 * processes, find the same session expired at once, exactly one refresh goes to the broker and every
 * caller gets the session it produced. Two repositories on one database stand for two worker processes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { BrokerAuthError, BrokerTransientError, type BrokerAdapter } from '../../src/brokers/broker.js';
import type { AppCredentials, BrokerConnector, BrokerSession } from '../../src/brokers/connections/connector.js';
import { Vault } from '../../src/brokers/connections/vault.js';
import { BrokerRegistry } from '../../src/brokers/registry.js';
import { migrate, openDb, type DbHandle } from '../../src/db/client.js';
import { brokerConnections, users } from '../../src/db/schema/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ConnectionRepository } from '../../src/services/brokers/connection.repository.js';
import { modes } from '../support/env.js';
import { createTestDatabase } from '../support/server.js';

/** A broker whose refresh tokens rotate: each works once; a spent one is refused, as the broker does. */
function rotatingBroker() {
  const spent = new Set<string>();
  let issued = 0;
  const state = { down: false };
  const connector: Partial<BrokerConnector> = {
    async refresh(_app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession> {
      await new Promise((r) => setTimeout(r, 50)); // the token endpoint takes a while
      if (state.down) throw new BrokerTransientError('rotating POST /oauth/token: no response (network error or timeout)');
      if (!session.refreshToken || spent.has(session.refreshToken)) throw new Error('invalid_grant');
      spent.add(session.refreshToken);
      issued += 1;
      return { accessToken: `access-${issued}`, refreshToken: `refresh-${issued}`, expiresAt: new Date(now.getTime() + 20 * 60_000).toISOString() };
    },
  };
  const adapter = { name: 'rotating', connector, close: async () => {} } as unknown as BrokerAdapter;
  return { adapter, refreshes: () => issued, state };
}

describe.each(modes())('broker session refresh (%s)', (mode) => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close();
  });

  async function databases(): Promise<[DbHandle, DbHandle]> {
    if (mode === 'embedded') {
      const h = await openDb({});
      await migrate(h);
      opened.push(h);
      return [h, h];
    }
    const t = await createTestDatabase();
    opened.push({ close: t.drop });
    const a = await openDb({ url: t.url, poolSize: 4 });
    await migrate(a);
    const b = await openDb({ url: t.url, poolSize: 4 });
    opened.push(b, a);
    return [a, b];
  }

  it('refreshes an expired session once, however many callers (and processes) open it together', async () => {
    const [h1, h2] = await databases();
    const clock = new ManualClock(new Date('2026-11-30T10:00:00Z'));
    const vault = new Vault(randomBytes(32));
    const broker = rotatingBroker();
    const brokers = new BrokerRegistry().register(broker.adapter);
    const repo = (h: DbHandle) =>
      new ConnectionRepository({ db: h.db, vault, clock, logger: silentLogger, brokers, lock: h.withAdvisoryLock?.bind(h) });
    // Embedded is one process: one repository. Scaled: two, each with its own pool, like two workers.
    const repos = mode === 'embedded' ? [repo(h1)] : [repo(h1), repo(h2)];

    const [u] = await h1.db.insert(users).values({ email: `${randomUUID()}@example.com`, passwordHash: 'x' }).returning();
    const id = randomUUID();
    const secrets = { app: { clientId: 'c', clientSecret: 's' }, session: { accessToken: 'access-0', refreshToken: 'refresh-0', expiresAt: null } };
    await h1.db.insert(brokerConnections).values({
      id,
      userId: u!.id,
      broker: 'rotating',
      status: 'ACTIVE',
      ...repos[0]!.sealFor(id, secrets),
      expiresAt: new Date(clock.now().getTime() - 1_000),
    });

    const opens = await Promise.all(Array.from({ length: 8 }, (_, i) => repos[i % repos.length]!.open(id)));
    expect(broker.refreshes()).toBe(1);
    expect(new Set(opens.map((o) => o.session.accessToken))).toEqual(new Set(['access-1']));
    const row = await repos[0]!.byId(id);
    expect(row?.status).toBe('ACTIVE');
    expect(repos[0]!.secretsOf(row!).session?.refreshToken).toBe('refresh-1');
    expect(row!.expiresAt!.getTime()).toBeGreaterThan(clock.now().getTime());
  });

  it('keeps a connection whose refresh the broker could not answer ACTIVE, and expires one whose refresh it refused', async () => {
    const [h] = await databases();
    const clock = new ManualClock(new Date('2026-11-30T10:00:00Z'));
    const vault = new Vault(randomBytes(32));
    const broker = rotatingBroker();
    const repo = new ConnectionRepository({ db: h.db, vault, clock, logger: silentLogger, brokers: new BrokerRegistry().register(broker.adapter), lock: h.withAdvisoryLock?.bind(h) });
    const [u] = await h.db.insert(users).values({ email: `${randomUUID()}@example.com`, passwordHash: 'x' }).returning();
    const connection = async (refreshToken: string) => {
      const id = randomUUID();
      const secrets = { app: { clientId: 'c', clientSecret: 's' }, session: { accessToken: 'old', refreshToken, expiresAt: null } };
      await h.db.insert(brokerConnections).values({ id, userId: u!.id, broker: 'rotating', status: 'ACTIVE', ...repo.sealFor(id, secrets), expiresAt: new Date(clock.now().getTime() - 1_000) });
      return id;
    };

    // The token endpoint is down: the caller is told to try again, and nothing about the connection changes.
    const id = await connection('refresh-a');
    broker.state.down = true;
    await expect(repo.open(id)).rejects.toBeInstanceOf(BrokerTransientError);
    let row = await repo.byId(id);
    expect(row?.status).toBe('ACTIVE');
    expect(repo.secretsOf(row!).session?.refreshToken).toBe('refresh-a');
    // Back up: the same refresh token renews the session.
    broker.state.down = false;
    const opened = await repo.open(id);
    expect(opened.session.accessToken).toMatch(/^access-/);
    row = await repo.byId(id);
    expect(row?.status).toBe('ACTIVE');

    // A refresh token the broker refuses (spent): the connection expires and the user must reconnect.
    const spent = await connection('refresh-a');
    await expect(repo.open(spent)).rejects.toBeInstanceOf(BrokerAuthError);
    expect((await repo.byId(spent))?.status).toBe('EXPIRED');
  });
});
