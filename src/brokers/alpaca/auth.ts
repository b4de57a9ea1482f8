import { BrokerAuthError, loginFailure } from '../broker.js';
import { CredentialsError, requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import type { WireHttp } from '../connections/wire-http.js';
import { alpacaAuthHeaders, unwrap, type AlpacaAccount } from './wire.js';

/** Scopes asked of the user: trading and account changes (read-only is Alpaca's default). */
export const ALPACA_OAUTH_SCOPE = 'account:write trading';

/**
 * Alpaca credentials, two ways. API keys: a key id and secret, sent as `APCA-API-KEY-ID` /
 * `APCA-API-SECRET-KEY` on every call; they do not expire; connecting checks them with `GET /v2/account`.
 * OAuth2 (third-party apps, docs.alpaca.markets "Using OAuth2 and Trading API"): `{clientId, clientSecret}`
 * starts a redirect to `https://app.alpaca.markets/oauth/authorize?response_type=code&client_id&
 * redirect_uri&state&scope=account:write trading`; the callback's `code` is exchanged at
 * `POST https://api.alpaca.markets/oauth/token` (form: grant_type=authorization_code, code, client_id,
 * client_secret, redirect_uri) for an access token, then sent as `Authorization: Bearer` instead of the
 * key headers. Alpaca's tokens carry no expiry and no refresh grant: a revoked one answers 401 and the
 * connection becomes EXPIRED.
 */
export class AlpacaConnector implements BrokerConnector {
  readonly displayName = 'Alpaca';
  readonly authFlow = 'API_KEY' as const;
  readonly markets = ['NASDAQ', 'NYSE', 'NYSEARCA'];

  constructor(private readonly deps: { http: WireHttp; token: WireHttp; loginUrl: string }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    if (input.clientId !== undefined) {
      return { clientId: requireString(input, 'clientId', /^[A-Za-z0-9_-]{6,128}$/), clientSecret: requireString(input, 'clientSecret') };
    }
    return { keyId: requireString(input, 'keyId', /^[A-Za-z0-9]{8,64}$/), secretKey: requireString(input, 'secretKey') };
  }

  flowFor(app: AppCredentials): 'API_KEY' | 'OAUTH_REDIRECT' {
    return app.clientId ? 'OAUTH_REDIRECT' : 'API_KEY';
  }

  authorizationUrl(app: AppCredentials, ctx: ConnectContext): string {
    const u = new URL(this.deps.loginUrl);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', app.clientId);
    u.searchParams.set('redirect_uri', ctx.redirectUri);
    u.searchParams.set('state', ctx.state);
    u.searchParams.set('scope', ALPACA_OAUTH_SCOPE);
    return u.toString();
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    let accessToken = app.secretKey;
    if (app.clientId) {
      if (params.error) throw new BrokerAuthError(`Alpaca did not authorize the app (${String(params.error).slice(0, 100)})`);
      if (!params.code) throw new CredentialsError('the Alpaca callback carries no code', 'code');
      const res = await this.deps.token.send({
        method: 'POST',
        path: '/oauth/token',
        form: { grant_type: 'authorization_code', code: params.code, client_id: app.clientId, client_secret: app.clientSecret, redirect_uri: ctx.redirectUri },
      });
      const body = (res.body ?? {}) as { access_token?: string; error?: string };
      if (res.status !== 200 || !body.access_token) throw loginFailure(res.status, `Alpaca refused the authorization code (${body.error ?? `HTTP ${res.status}`})`);
      accessToken = body.access_token;
    }
    const res = await this.deps.http.send({ method: 'GET', path: '/v2/account', headers: alpacaAuthHeaders(app, accessToken) });
    const account = unwrap<AlpacaAccount>(res, 'account');
    if (!account?.id) throw new BrokerAuthError('Alpaca returned no account for these credentials');
    if (account.status && account.status !== 'ACTIVE') throw new BrokerAuthError(`Alpaca account is ${account.status}, not ACTIVE`);
    // API keys carry no token: the session holds the secret key (sealed like any token); OAuth: the access token.
    return { accessToken, accountId: account.account_number ?? account.id, expiresAt: null };
  }
}

/** Where Alpaca exchanges codes: the live API host, whichever trading host (live or paper) is used. */
export function alpacaTokenHost(baseUrl: string): string {
  return new URL(baseUrl).origin.replace('://paper-api.', '://api.');
}
