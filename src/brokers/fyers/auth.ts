import { BrokerAuthError, loginFailure } from '../broker.js';
import { CredentialsError, requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import { nextIstTime } from '../connections/expiry.js';
import type { WireHttp } from '../connections/wire-http.js';
import { appIdHash } from './wire.js';

/**
 * Fyers login: `generate-authcode?client_id&redirect_uri&response_type=code&state` → `auth_code` on the
 * redirect → `POST /api/v3/validate-authcode` {grant_type, appIdHash, code} → access and refresh tokens.
 * The refresh token (15 days) renews the access token with the user's PIN (`validate-refresh-token`),
 * so a connection given a `pin` keeps itself alive. Access-token lifetime is not documented: we assume
 * the trading day (until 06:00 IST) and refresh then.
 */
export class FyersConnector implements BrokerConnector {
  readonly displayName = 'Fyers';
  readonly authFlow = 'OAUTH_REDIRECT' as const;
  readonly markets = ['NSE', 'BSE', 'MCX'];

  constructor(private readonly deps: { http: WireHttp; loginUrl: string }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    const app: AppCredentials = { appId: requireString(input, 'appId', /^[A-Z0-9]+-\d{3}$/i), secretKey: requireString(input, 'secretKey') };
    if (input.pin !== undefined) app.pin = requireString(input, 'pin', /^\d{4,6}$/);
    return app;
  }

  authorizationUrl(app: AppCredentials, ctx: ConnectContext): string {
    const u = new URL(this.deps.loginUrl);
    u.searchParams.set('client_id', app.appId);
    u.searchParams.set('redirect_uri', ctx.redirectUri);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('state', ctx.state);
    return u.toString();
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    const code = params.auth_code ?? params.code;
    if (!code) throw new CredentialsError('auth_code is missing', 'auth_code');
    const res = await this.deps.http.send({ method: 'POST', path: '/api/v3/validate-authcode', json: { grant_type: 'authorization_code', appIdHash: appIdHash(app.appId, app.secretKey), code } });
    const b = (res.body ?? {}) as { s?: string; access_token?: string; refresh_token?: string; message?: string };
    if (b.s !== 'ok' || !b.access_token) throw loginFailure(res.status, `Fyers refused the auth code (${String(b.message ?? res.status).slice(0, 200)})`);
    return { accessToken: b.access_token, refreshToken: b.refresh_token, expiresAt: nextIstTime(ctx.now, 6, 0).toISOString() };
  }

  canRefresh(app: AppCredentials, session: BrokerSession): boolean {
    return Boolean(app.pin && session.refreshToken);
  }

  async refresh(app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession> {
    if (!app.pin || !session.refreshToken) throw new BrokerAuthError('Fyers refresh needs the refresh token and the PIN');
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/api/v3/validate-refresh-token',
      json: { grant_type: 'refresh_token', appIdHash: appIdHash(app.appId, app.secretKey), refresh_token: session.refreshToken, pin: app.pin },
    });
    const b = (res.body ?? {}) as { s?: string; access_token?: string };
    if (b.s !== 'ok' || !b.access_token) throw loginFailure(res.status, 'Fyers refused the refresh token');
    return { ...session, accessToken: b.access_token, expiresAt: nextIstTime(now, 6, 0).toISOString() };
  }
}
