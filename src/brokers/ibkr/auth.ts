import { BrokerAuthError } from '../broker.js';
import { requireString, type AppCredentials, type BrokerConnector, type BrokerSession } from '../connections/connector.js';
import { usable, type IbkrGateway } from './gateway.js';

/**
 * Connecting IBKR through the user's own Client Portal Gateway (BROKER_IBKR_BASE_URL): the user logs in
 * at the gateway (IB's browser login), then gives us the account id (`U1234567`, paper `DU1234567`).
 * Connecting checks the brokerage session (POST /tickle, /iserver/auth/status; a lost one is re-opened
 * with /iserver/reauthenticate or ssodh/init) and that the gateway serves the account (GET
 * /portfolio/accounts). The gateway holds the login: we store no IB password or token.
 */
export class IbkrConnector implements BrokerConnector {
  readonly displayName = 'Interactive Brokers';
  readonly authFlow = 'GATEWAY' as const;
  readonly markets = ['NASDAQ', 'NYSE', 'NYSEARCA'];

  constructor(private readonly deps: { gateway: IbkrGateway }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    return { accountId: requireString(input, 'accountId', /^[A-Za-z0-9]{4,20}$/).toUpperCase() };
  }

  async complete(app: AppCredentials): Promise<BrokerSession> {
    const gw = this.deps.gateway;
    let status = await gw.tickle();
    if (!usable(status) && !(await gw.reauthenticate())) {
      throw new BrokerAuthError('the IBKR gateway is not logged in (no brokerage session): log in at the gateway, then connect again');
    }
    status = await gw.authStatus();
    if (!usable(status)) throw new BrokerAuthError('the IBKR gateway is not logged in (no brokerage session): log in at the gateway, then connect again');
    const res = await gw.send({ method: 'GET', path: '/portfolio/accounts' }, 'accounts');
    const rows = Array.isArray(res.body) ? (res.body as Array<{ id?: string; accountId?: string }>) : [];
    if (!rows.some((r) => (r.accountId ?? r.id ?? '').toUpperCase() === app.accountId)) {
      throw new BrokerAuthError(`account ${app.accountId} is not served by the IBKR gateway; check the account id`);
    }
    return { accessToken: 'ibkr-gateway-session', accountId: app.accountId, expiresAt: null };
  }
}
