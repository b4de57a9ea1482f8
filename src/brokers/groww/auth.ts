import { loginFailure } from '../broker.js';
import { CredentialsError, type AppCredentials, type BrokerConnector, type BrokerSession, type ConnectContext } from '../connections/connector.js';
import { nextIstTime } from '../connections/expiry.js';
import type { WireHttp } from '../connections/wire-http.js';
import { approvalChecksum } from './wire.js';

/**
 * Groww: an access token generated in Groww's UI ({ accessToken }), or an API key and secret
 * ({ apiKey, apiSecret }) exchanged at `POST /v1/token/api/access` with an approval checksum (3p: from
 * Groww's SDKs). Tokens expire daily at 06:00 IST; the key+secret flow mints a new one on reconnect.
 */
export class GrowwConnector implements BrokerConnector {
  readonly displayName = 'Groww';
  readonly authFlow = 'API_KEY' as const;
  readonly markets = ['NSE', 'BSE'];

  constructor(private readonly deps: { http: WireHttp; now: () => Date }) {}

  parseCredentials(input: Record<string, unknown>): AppCredentials {
    const str = (k: string) => (typeof input[k] === 'string' && (input[k] as string).trim() ? (input[k] as string).trim() : undefined);
    const accessToken = str('accessToken');
    if (accessToken) return { accessToken };
    const apiKey = str('apiKey');
    const apiSecret = str('apiSecret');
    if (apiKey && apiSecret) return { apiKey, apiSecret };
    throw new CredentialsError('give credentials.accessToken, or credentials.apiKey and credentials.apiSecret', 'credentials.accessToken');
  }

  async complete(app: AppCredentials, _params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession> {
    const expiresAt = nextIstTime(ctx.now, 6, 0).toISOString();
    if (app.accessToken) return { accessToken: app.accessToken, expiresAt };
    const timestamp = String(Math.floor(ctx.now.getTime() / 1000));
    const res = await this.deps.http.send({
      method: 'POST',
      path: '/v1/token/api/access',
      headers: { Authorization: `Bearer ${app.apiKey}`, Accept: 'application/json' },
      json: { key_type: 'approval', checksum: approvalChecksum(app.apiSecret, timestamp), timestamp },
    });
    const b = (res.body ?? {}) as { token?: string; payload?: { token?: string } };
    const token = b.token ?? b.payload?.token;
    if (res.status >= 300 || !token) throw loginFailure(res.status, `Groww refused the API key (HTTP ${res.status}); approve it in Groww and reconnect`);
    return { accessToken: token, expiresAt };
  }
}
