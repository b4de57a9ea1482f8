import { BrokerAuthError } from '../broker.js';
import { requireString, type AppCredentials, type BrokerConnector, type BrokerSession } from '../connections/connector.js';
import type { WireHttp } from '../connections/wire-http.js';
import { alpacaHeaders, unwrap, type AlpacaAccount } from './wire.js';

/**
 * Alpaca API keys: a key id and secret, sent as `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` on every call.
 * They do not expire; connecting checks them with `GET /v2/account` and keeps the account number. Paper
 * and live keys are separate and go to separate hosts (BROKER_ALPACA_BASE_URL picks one).
 */
export class AlpacaConnector implements BrokerConnector {
  readonly displayName = 'Alpaca';
  readonly authFlow = 'API_KEY' as const;
  readonly markets = ['NASDAQ', 'NYSE', 'NYSEARCA'];

  constructor(private readonly deps: { http: WireHttp }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    return { keyId: requireString(input, 'keyId', /^[A-Za-z0-9]{8,64}$/), secretKey: requireString(input, 'secretKey') };
  }

  async complete(app: AppCredentials): Promise<BrokerSession> {
    const res = await this.deps.http.send({ method: 'GET', path: '/v2/account', headers: alpacaHeaders(app.keyId, app.secretKey) });
    const account = unwrap<AlpacaAccount>(res, 'account');
    if (!account?.id) throw new BrokerAuthError('Alpaca returned no account for these keys');
    if (account.status && account.status !== 'ACTIVE') throw new BrokerAuthError(`Alpaca account is ${account.status}, not ACTIVE`);
    // API keys carry no token: the session holds the secret key (sealed like any token).
    return { accessToken: app.secretKey, accountId: account.account_number ?? account.id, expiresAt: null };
  }
}
