import { BrokerAuthError } from '../broker.js';
import { requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext, CredentialsError } from '../connections/connector.js';
import { nextIstTime } from '../connections/expiry.js';
import type { WireHttp } from '../connections/wire-http.js';
import { KITE_VERSION, sessionChecksum, unwrap } from './wire.js';

/**
 * Kite Connect login: redirect to `/connect/login?v=3&api_key=…&redirect_params=state%3D…`; Kite sends
 * the user back with `request_token` (and our redirect_params); `POST /session/token` with
 * checksum = SHA-256(api_key + request_token + api_secret) gives the access token, valid until 06:00 IST
 * the next morning. There is no refresh grant for ordinary apps: the user logs in again each day.
 */
export class KiteConnector implements BrokerConnector {
  readonly displayName = 'Zerodha Kite Connect';
  readonly authFlow = 'OAUTH_REDIRECT' as const;
  readonly markets = ['NSE', 'BSE', 'NFO', 'BFO', 'CDS', 'BCD', 'MCX'];

  constructor(private readonly deps: { http: WireHttp; loginUrl: string }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    return { apiKey: requireString(input, 'apiKey', /^[A-Za-z0-9]{4,64}$/), apiSecret: requireString(input, 'apiSecret') };
  }

  authorizationUrl(app: AppCredentials, ctx: ConnectContext): string {
    const u = new URL(this.deps.loginUrl);
    u.searchParams.set('v', KITE_VERSION);
    u.searchParams.set('api_key', app.apiKey);
    // Kite appends redirect_params (URL-encoded query) to the app's registered redirect URL.
    u.searchParams.set('redirect_params', new URLSearchParams({ state: ctx.state }).toString());
    return u.toString();
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    if (params.status && params.status !== 'success') throw new BrokerAuthError('Kite login was not completed');
    const requestToken = params.request_token ?? params.requestToken;
    if (!requestToken) throw new CredentialsError('request_token is missing', 'request_token');
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/session/token',
      headers: { 'X-Kite-Version': KITE_VERSION },
      form: { api_key: app.apiKey, request_token: requestToken, checksum: sessionChecksum(app.apiKey, requestToken, app.apiSecret) },
    });
    const data = unwrap<{ access_token?: string; user_id?: string; refresh_token?: string }>(res, 'session');
    if (!data?.access_token) throw new BrokerAuthError('Kite returned no access token');
    return {
      accessToken: data.access_token,
      ...(data.refresh_token ? { refreshToken: data.refresh_token } : {}),
      accountId: data.user_id,
      expiresAt: nextIstTime(ctx.now, 6, 0).toISOString(),
    };
  }
}
