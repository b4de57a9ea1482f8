import { BrokerAuthError, loginFailure } from '../broker.js';
import { CredentialsError, requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import type { WireHttp } from '../connections/wire-http.js';
import { bearer, errorMessage, unwrap, type TsAccount } from './wire.js';

/** Scopes asked for: `offline_access` brings the refresh token; `Trade` and `ReadAccount` the trading. */
export const TS_SCOPES = 'openid offline_access profile MarketData ReadAccount Trade';
const AUDIENCE = 'https://api.tradestation.com';
/** Refresh this long before the access token dies (a quarter of its life when that is shorter). */
const REFRESH_AHEAD_MS = 120_000;

interface TokenReply {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

/**
 * TradeStation OAuth2 authorization code flow (api.tradestation.com/docs/fundamentals/authentication):
 * `https://signin.tradestation.com/authorize?response_type=code&client_id&audience&redirect_uri&scope&state`
 * → `code` on the redirect → `POST /oauth/token` (form: grant_type=authorization_code, client_id,
 * client_secret, code, redirect_uri) → access token (20 minutes) and refresh token. The session's
 * `expiresAt` is set ahead of the token's real end, so the connection repository refreshes it
 * (grant_type=refresh_token) before any call could fail. A key configured for rotating refresh tokens
 * answers a refresh with a new refresh token: it replaces the old one in the sealed session.
 */
export class TradeStationConnector implements BrokerConnector {
  readonly displayName = 'TradeStation';
  readonly authFlow = 'OAUTH_REDIRECT' as const;
  readonly markets = ['NASDAQ', 'NYSE', 'NYSEARCA', 'AMEX'];

  constructor(private readonly deps: { signin: WireHttp; api: WireHttp; loginUrl: string }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    const app: AppCredentials = { clientId: requireString(input, 'clientId', /^[A-Za-z0-9_-]{8,128}$/), clientSecret: requireString(input, 'clientSecret') };
    if (input.accountId !== undefined) app.accountId = requireString(input, 'accountId', /^[A-Za-z0-9]{3,32}$/);
    return app;
  }

  authorizationUrl(app: AppCredentials, ctx: ConnectContext): string {
    const u = new URL(this.deps.loginUrl);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', app.clientId);
    u.searchParams.set('audience', AUDIENCE);
    u.searchParams.set('redirect_uri', ctx.redirectUri);
    u.searchParams.set('scope', TS_SCOPES);
    u.searchParams.set('state', ctx.state);
    return u.toString();
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    if (params.error) throw new BrokerAuthError(`TradeStation login was not completed (${String(params.error_description ?? params.error).slice(0, 200)})`);
    const code = params.code;
    if (!code) throw new CredentialsError('code is missing', 'code');
    const tokens = await this.token({ grant_type: 'authorization_code', client_id: app.clientId, client_secret: app.clientSecret, code, redirect_uri: ctx.redirectUri }, 'authorization code');
    const accountId = await this.pickAccount(app, tokens.access_token!);
    return { accessToken: tokens.access_token!, refreshToken: tokens.refresh_token, accountId, expiresAt: expiry(ctx.now, tokens.expires_in) };
  }

  /**
   * One refresh per refresh token at a time, and its result kept for a minute: callers that read the
   * session before the new one was stored (the poller, the stream, an order) share the one grant
   * instead of spending a rotated-away token and expiring the connection. Per process; see README.
   */
  async refresh(app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession> {
    if (!session.refreshToken) throw new BrokerAuthError('TradeStation refresh needs a refresh token; reconnect');
    const key = session.refreshToken;
    const known = this.inFlight.get(key);
    if (known) return known;
    const p = this.grant(app, session, now);
    this.inFlight.set(key, p);
    p.then(
      () => setTimeout(() => this.inFlight.delete(key), 60_000).unref(),
      () => this.inFlight.delete(key),
    );
    return p;
  }

  private readonly inFlight = new Map<string, Promise<BrokerSession>>();

  private async grant(app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession> {
    const t = await this.token({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: session.refreshToken! }, 'refresh token');
    // Rotating refresh tokens: the reply carries the next one, and the old one stops working.
    return { ...session, accessToken: t.access_token!, refreshToken: t.refresh_token ?? session.refreshToken, expiresAt: expiry(now, t.expires_in) };
  }

  private async token(form: Record<string, string>, what: string): Promise<TokenReply> {
    const res = await this.deps.signin.send({ method: 'POST', path: '/oauth/token', form });
    const b = (res.body ?? {}) as TokenReply;
    if (res.status >= 300 || !b.access_token) throw loginFailure(res.status, `TradeStation refused the ${what} (${String(b.error_description ?? b.error ?? errorMessage(res.body, res.status)).slice(0, 200)})`);
    return b;
  }

  /** The account to trade: the one named in the credentials, else the first active USD equities account. */
  private async pickAccount(app: AppCredentials, accessToken: string): Promise<string> {
    const res = await this.deps.api.send({ method: 'GET', path: '/brokerage/accounts', headers: bearer(accessToken) });
    const accounts = unwrap<{ Accounts?: TsAccount[] }>(res, 'accounts').Accounts ?? [];
    if (app.accountId) {
      if (!accounts.some((a) => a.AccountID === app.accountId)) throw new BrokerAuthError(`TradeStation account ${app.accountId} is not one of this login's accounts`);
      return app.accountId;
    }
    const equities = accounts.filter((a) => (a.AccountType === 'Cash' || a.AccountType === 'Margin') && (a.Currency ?? 'USD') === 'USD' && (a.Status ?? 'Active') === 'Active');
    if (!equities.length) throw new BrokerAuthError('TradeStation login has no active USD equities account (Cash or Margin)');
    return equities[0].AccountID;
  }
}

/** When to refresh: two minutes (at most a quarter of the life) before the token's end. */
function expiry(now: Date, expiresIn: number | undefined): string {
  const lifeMs = (Number(expiresIn) > 0 ? Number(expiresIn) : 1200) * 1000;
  return new Date(now.getTime() + lifeMs - Math.min(REFRESH_AHEAD_MS, lifeMs / 4)).toISOString();
}
