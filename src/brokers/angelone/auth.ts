import { BrokerAuthError, BrokerTransientError } from '../broker.js';
import { CredentialsError, requireString, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import { nextIstTime } from '../connections/expiry.js';
import type { WireHttp } from '../connections/wire-http.js';
import { headers, unwrap } from './wire.js';

/**
 * Angel One login: startBrokerConnection with { apiKey, clientCode }, then completeBrokerConnection with
 * { pin, totp } → `loginByPassword` {clientcode, password: PIN, totp} → jwtToken, refreshToken, feedToken.
 * `generateTokens` {refreshToken} renews the JWT. The JWT's lifetime is not published: we treat it as
 * valid until midnight IST and renew it with the refresh token then.
 */
export class AngelOneConnector implements BrokerConnector {
  readonly displayName = 'Angel One SmartAPI';
  readonly authFlow = 'LOGIN_TOTP' as const;
  readonly markets = ['NSE', 'BSE', 'NFO', 'BFO', 'MCX', 'CDS'];

  constructor(private readonly deps: { http: WireHttp }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    return { apiKey: requireString(input, 'apiKey'), clientCode: requireString(input, 'clientCode', /^[A-Za-z0-9]{3,20}$/) };
  }

  async complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    if (!params.pin) throw new CredentialsError('credentials.pin is required', 'credentials.pin');
    if (!params.totp || !/^\d{6}$/.test(params.totp)) throw new CredentialsError('credentials.totp must be the 6-digit code', 'credentials.totp');
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/rest/auth/angelbroking/user/v1/loginByPassword',
      headers: headers(app.apiKey),
      json: { clientcode: app.clientCode, password: params.pin, totp: params.totp },
    });
    const data = this.tokens(res, 'login');
    return { accessToken: data.jwtToken, refreshToken: data.refreshToken, accountId: app.clientCode, expiresAt: nextIstTime(ctx.now, 0, 0).toISOString(), extra: { feedToken: data.feedToken ?? '' } };
  }

  async refresh(app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession> {
    if (!session.refreshToken) throw new BrokerAuthError('no Angel One refresh token');
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/rest/auth/angelbroking/jwt/v1/generateTokens',
      headers: headers(app.apiKey, session.accessToken),
      json: { refreshToken: session.refreshToken },
    });
    const data = this.tokens(res, 'token refresh');
    return { ...session, accessToken: data.jwtToken, refreshToken: data.refreshToken ?? session.refreshToken, expiresAt: nextIstTime(now, 0, 0).toISOString() };
  }

  private tokens(res: Parameters<typeof unwrap>[0], what: string): { jwtToken: string; refreshToken?: string; feedToken?: string } {
    let data: { jwtToken?: string; refreshToken?: string; feedToken?: string } | null;
    try {
      data = unwrap(res, what);
    } catch (err) {
      // Unavailable (a 5xx) is not a refusal: the login may be sent again (see loginFailure).
      if (err instanceof BrokerTransientError) throw err;
      throw new BrokerAuthError(`Angel One refused the ${what}: ${(err as Error).message}`);
    }
    if (!data?.jwtToken) throw new BrokerAuthError(`Angel One ${what} returned no token`);
    return { ...data, jwtToken: data.jwtToken.replace(/^Bearer /, '') };
  }
}
