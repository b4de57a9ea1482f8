import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Decimal } from '../../../src/lib/decimal.js';

/**
 * The sign-in half of the TradeStation fake (signin.tradestation.com): `GET /authorize` checks the
 * request (response_type=code, client_id, audience, redirect_uri, scope with openid) and redirects back
 * with `code` and `state`; `POST /oauth/token` (form) exchanges a code (client secret and redirect_uri
 * checked) or a refresh token for `{access_token, refresh_token, expires_in, scope, token_type, id_token}`.
 * Refresh tokens never expire unless the key rotates them: then each refresh returns a new one and the
 * old one stops working. Access tokens live `accessTtlSec` (1200 by default).
 */
export interface User {
  clientId: string;
  clientSecret: string;
  accountId: string;
  cash: Decimal;
  rotating: boolean;
  accessTtlSec: number;
  refreshTokens: Set<string>;
  /** Category → window start and count. */
  quota: Map<string, { start: number; count: number }>;
}

export class TsSignin {
  readonly users = new Map<string, User>();
  private readonly codes = new Map<string, { user: User; redirectUri: string }>();
  private readonly tokens = new Map<string, { user: User; expiresAt: number }>();

  constructor(private readonly send: (res: http.ServerResponse, status: number, body: unknown) => void) {}

  /** The user of a live access token, or why there is none. */
  userOf(token: string | undefined): { user: User } | { error: string } {
    const t = token ? this.tokens.get(token) : undefined;
    if (!t) return { error: 'Invalid access token' };
    if (t.expiresAt <= Date.now()) return { error: 'Access token expired' };
    return { user: t.user };
  }

  /** Issue tokens directly (adapter tests that skip the browser step). */
  issueTokens(clientId: string): { accessToken: string; refreshToken: string; accountId: string } {
    const user = this.users.get(clientId)!;
    const t = this.mint(user, true);
    return { accessToken: t.access_token, refreshToken: t.refresh_token!, accountId: user.accountId };
  }

  /** The refresh tokens that work now for a user (one, unless refreshed without rotation). */
  refreshTokensOf(clientId: string): string[] {
    return [...(this.users.get(clientId)?.refreshTokens ?? [])];
  }

  /** Every refresh token of a user stops working (revoked at TradeStation). */
  revokeRefresh(clientId: string): void {
    this.users.get(clientId)?.refreshTokens.clear();
  }

  /** Every access token of a user stops working (revoked, or expired early). */
  revokeAccess(clientId: string): void {
    for (const [t, v] of this.tokens) if (v.user.clientId === clientId) this.tokens.delete(t);
  }

  authorize(u: URL, res: http.ServerResponse): void {
    const p = u.searchParams;
    const user = this.users.get(p.get('client_id') ?? '');
    const redirect = p.get('redirect_uri');
    if (!user || !redirect || p.get('response_type') !== 'code' || p.get('audience') !== 'https://api.tradestation.com' || !(p.get('scope') ?? '').split(' ').includes('openid')) {
      return this.send(res, 400, { error: 'invalid_request', error_description: 'bad authorization request' });
    }
    const code = randomBytes(12).toString('hex');
    this.codes.set(code, { user, redirectUri: redirect });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    if (p.get('state')) back.searchParams.set('state', p.get('state')!);
    res.writeHead(302, { Location: back.toString() });
    res.end();
  }

  mint(user: User, withRefresh: boolean): { access_token: string; refresh_token?: string; expires_in: number; scope: string; token_type: string; id_token: string } {
    const access = `ts-at-${randomBytes(16).toString('hex')}`;
    this.tokens.set(access, { user, expiresAt: Date.now() + user.accessTtlSec * 1000 });
    const out: ReturnType<TsSignin['mint']> = { access_token: access, expires_in: user.accessTtlSec, scope: 'openid offline_access profile MarketData ReadAccount Trade', token_type: 'Bearer', id_token: `ts-id-${randomBytes(8).toString('hex')}` };
    if (withRefresh) {
      const rt = `ts-rt-${randomBytes(16).toString('hex')}`;
      user.refreshTokens.add(rt);
      out.refresh_token = rt;
    }
    return out;
  }

  token(form: URLSearchParams, res: http.ServerResponse): void {
    const user = this.users.get(form.get('client_id') ?? '');
    const bad = (d: string) => this.send(res, 403, { error: 'invalid_grant', error_description: d });
    if (!user) return this.send(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
    if (form.get('client_secret') !== user.clientSecret) return this.send(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') {
      const c = this.codes.get(form.get('code') ?? '');
      if (!c || c.user !== user) return bad('Invalid authorization code');
      if (c.redirectUri !== form.get('redirect_uri')) return bad('redirect_uri mismatch');
      this.codes.delete(form.get('code')!);
      return this.send(res, 200, this.mint(user, true));
    }
    if (grant === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      if (!user.refreshTokens.has(rt)) return bad('Unknown or invalid refresh token.');
      if (user.rotating) {
        user.refreshTokens.delete(rt); // the old one dies; the reply carries the next
        return this.send(res, 200, this.mint(user, true));
      }
      const { refresh_token: _r, ...t } = this.mint(user, false);
      return this.send(res, 200, t);
    }
    return this.send(res, 400, { error: 'unsupported_grant_type', error_description: String(grant) });
  }
}
