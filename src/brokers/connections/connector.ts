import type { BrokerAdapter, BrokerOrder } from '../broker.js';

/** How a user connects a broker (API.md `BrokerAuthFlow`). */
export type BrokerAuthFlow = 'NONE' | 'OAUTH_REDIRECT' | 'API_KEY' | 'LOGIN_TOTP' | 'GATEWAY';

/** The user's app credentials for one broker (API key and secret, client code...), as strings. */
export type AppCredentials = Record<string, string>;

/** What a completed login yields. Tokens are secrets: sealed at rest, never returned or logged. */
export interface BrokerSession {
  accessToken: string;
  refreshToken?: string;
  /** The broker's id for the account (Kite user_id...). */
  accountId?: string;
  /** ISO time after which the access token no longer works (Kite 06:00 IST, Upstox 03:30 IST). */
  expiresAt: string | null;
  /** Other non-standard session values the adapter needs (Angel One feed token...). */
  extra?: Record<string, string>;
}

export interface ConnectContext {
  /** Where the broker sends the user back: `${PUBLIC_URL}/brokers/<name>/callback`. */
  redirectUri: string;
  /** Opaque value bound to this user and connection; must come back unchanged. */
  state: string;
  now: Date;
}

/**
 * A broker's login flow. Lives in the broker's folder (vendor details stay there); the connection
 * service drives it without knowing any broker.
 */
export interface BrokerConnector {
  readonly displayName: string;
  readonly authFlow: BrokerAuthFlow;
  readonly markets: string[];
  /** Check and normalise the credentials given to startBrokerConnection. Throws CredentialsError. */
  parseCredentials(input: Record<string, unknown>): AppCredentials;
  /** The flow for these credentials when a broker offers two (Alpaca: API keys, or OAuth2 with a client id); default `authFlow`. */
  flowFor?(app: AppCredentials): BrokerAuthFlow;
  /** Redirect flows: the broker's authorization URL carrying `state` (or Kite's `redirect_params`). */
  authorizationUrl?(app: AppCredentials, ctx: ConnectContext): string;
  /**
   * Finish the login: the callback's query (request_token, code...) or the credentials of
   * completeBrokerConnection (PIN, TOTP...). Throws BrokerAuthError if the broker refuses, CredentialsError
   * if something is missing. For API_KEY flows this is called at once with no params.
   */
  complete(app: AppCredentials, params: Record<string, string>, ctx: ConnectContext): Promise<BrokerSession>;
  /** Brokers with a refresh grant (Fyers, Angel One): a new session from the old one. */
  refresh?(app: AppCredentials, session: BrokerSession, now: Date): Promise<BrokerSession>;
  /** Whether `refresh` can work for this connection (Fyers needs the PIN); default: a refresh token exists. */
  canRefresh?(app: AppCredentials, session: BrokerSession): boolean;
}

/** An adapter for a broker the user connects to (not the paper exchange). */
export interface ConnectableBroker extends BrokerAdapter {
  readonly connector: BrokerConnector;
  /**
   * A push from the broker to our HTTP endpoint (`POST /brokers/<name>/postback`): verified and turned
   * into the orders it concerns (ours only), for which fills are then synced. Throws PushRejectedError
   * when it does not verify.
   */
  handlePush?(body: unknown, headers: Record<string, string | string[] | undefined>): Promise<BrokerOrder[]>;
  /** Poll every active connection once: emits fill and order events for anything new. */
  poll?(): Promise<void>;
  /** Poll every `intervalMs` until close() (run by the leader worker only). */
  startPolling?(intervalMs: number): void;
}

export function isConnectable(a: BrokerAdapter): a is ConnectableBroker {
  return 'connector' in a && Boolean((a as ConnectableBroker).connector);
}

/** Credentials given to a connection are missing or malformed: a BAD_USER_INPUT at the API. */
export class CredentialsError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** Read a required, non-empty string credential. */
export function requireString(input: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const v = input[field];
  if (typeof v !== 'string' || !v.trim()) throw new CredentialsError(`credentials.${field} is required`, `credentials.${field}`);
  if (pattern && !pattern.test(v.trim())) throw new CredentialsError(`credentials.${field} is malformed`, `credentials.${field}`);
  return v.trim();
}
