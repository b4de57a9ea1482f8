import { BrokerAuthError, loginFailure } from '../broker.js';
import { CredentialsError, requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import { nextIstTime } from '../connections/expiry.js';
import type { WireHttp } from '../connections/wire-http.js';

/**
 * Upstox OAuth2 code flow: `/v2/login/authorization/dialog?client_id&redirect_uri&state&response_type=code`,
 * then `POST /v2/login/authorization/token` (form: code, client_id, client_secret, redirect_uri,
 * grant_type=authorization_code). The access token lasts until 03:30 IST; Upstox has no refresh grant.
 */
export class UpstoxConnector implements BrokerConnector {
  readonly displayName = 'Upstox';
  readonly authFlow = 'OAUTH_REDIRECT' as const;
  readonly markets = ['NSE', 'BSE', 'NFO', 'BFO', 'MCX', 'CDS'];

  constructor(private readonly deps: { http: WireHttp; loginUrl: string }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    return { apiKey: requireString(input, 'apiKey'), apiSecret: requireString(input, 'apiSecret') };
  }

  authorizationUrl(app: AppCredentials, ctx: ConnectContext): string {
    const u = new URL(this.deps.loginUrl);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', app.apiKey);
    u.searchParams.set('redirect_uri', ctx.redirectUri);
    u.searchParams.set('state', ctx.state);
    return u.toString();
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    if (params.error) throw new BrokerAuthError('Upstox login was not completed');
    const code = params.code;
    if (!code) throw new CredentialsError('code is missing', 'code');
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/v2/login/authorization/token',
      headers: { Accept: 'application/json', 'Api-Version': '2.0' },
      form: { code, client_id: app.apiKey, client_secret: app.apiSecret, redirect_uri: ctx.redirectUri, grant_type: 'authorization_code' },
    });
    const body = (res.body ?? {}) as { access_token?: string; user_id?: string; data?: { access_token?: string; user_id?: string } };
    const data = body.access_token ? body : (body.data ?? {});
    if (res.status >= 300 || !data.access_token) throw loginFailure(res.status, `Upstox refused the authorization code (HTTP ${res.status})`);
    return { accessToken: data.access_token, accountId: data.user_id, expiresAt: nextIstTime(ctx.now, 3, 30).toISOString() };
  }
}
