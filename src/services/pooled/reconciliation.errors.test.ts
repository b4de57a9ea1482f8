/**
 * A pooled account's reconciliation reads the broker account's positions while the admin waits: what the
 * broker's failure means to them is a stable code (try again later, or reconnect), never the broker's text
 * and never an internal error.
 */
import { describe, expect, it } from 'vitest';
import { BrokerAuthError, BrokerRateLimitedError, BrokerTransientError, type BrokerAdapter } from '../../brokers/broker.js';
import { BrokerRegistry } from '../../brokers/registry.js';
import { ManualClock } from '../../lib/clock.js';
import { BrokerAuthRequiredError, BrokerUnavailableError } from '../../errors.js';
import { PooledAccountService } from './pooled-account.service.js';
import type { PooledAccountRow, PooledRepository } from './pooled.repository.js';

function service(getPositions: () => Promise<never>) {
  const adapter = { name: 'down', getPositions } as unknown as BrokerAdapter;
  const repo = { memberPositions: async () => [], instrumentsBySymbols: async () => [] } as unknown as PooledRepository;
  return new PooledAccountService({ repo, policy: { allowedUsers: async () => new Set<string>() }, clock: new ManualClock(new Date('2026-12-02T10:00:00Z')), brokers: new BrokerRegistry().register(adapter) });
}

const account = { id: 'acc-1', broker: 'down', brokerConnectionId: 'conn-1' } as unknown as PooledAccountRow;

describe('reconciliation when the broker fails', () => {
  it('is BROKER_UNAVAILABLE (with the wait the broker asked for) when the broker is not reached or busy', async () => {
    const down = service(async () => {
      throw new BrokerTransientError('down GET /positions: no response (network error or timeout)');
    });
    const err = await down.reconciliation(account).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(err).toMatchObject({ code: 'BROKER_UNAVAILABLE', details: { broker: 'down' } });
    expect((err as Error).message).not.toMatch(/GET|network/);
    const busy = service(async () => {
      throw new BrokerRateLimitedError(1500);
    });
    expect(await busy.reconciliation(account).catch((e: unknown) => e)).toMatchObject({ code: 'BROKER_UNAVAILABLE', details: { broker: 'down', retryAfterMs: 1500 } });
  });

  it("is BROKER_AUTH_REQUIRED, naming the account's connection, when the broker refuses the session", async () => {
    const refused = service(async () => {
      throw new BrokerAuthError('session is no longer valid');
    });
    const err = await refused.reconciliation(account).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerAuthRequiredError);
    expect(err).toMatchObject({ code: 'BROKER_AUTH_REQUIRED', details: { connectionId: 'conn-1' } });
  });

  it('lets any other failure through as it is', async () => {
    const broken = service(async () => {
      throw new TypeError('a bug');
    });
    await expect(broken.reconciliation(account)).rejects.toBeInstanceOf(TypeError);
  });
});
