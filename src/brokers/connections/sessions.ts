import type { AppCredentials, BrokerSession } from './connector.js';

/** An ACTIVE connection's credentials, opened for one call. Never log it. */
export interface OpenConnection {
  connectionId: string;
  broker: string;
  accountId: string | null;
  app: AppCredentials;
  session: BrokerSession;
}

/**
 * The adapters' view of broker connections (the account an adapter is given IS a connection id).
 * Implemented over the database by the connection service, and in memory for adapter tests.
 */
export interface BrokerSessions {
  /**
   * The credentials of an ACTIVE connection. An expired session is refreshed where the broker has a
   * refresh grant, else the connection becomes EXPIRED; either way a connection that is not ACTIVE
   * throws BrokerAuthError without any call to the broker.
   */
  open(connectionId: string): Promise<OpenConnection>;
  /** The broker refused the token: the connection becomes EXPIRED until the user reconnects. */
  expire(connectionId: string, reason: string): Promise<void>;
  /** Connections of this broker that are ACTIVE (polled for fills). */
  active(broker: string): Promise<Array<{ connectionId: string; accountId: string | null }>>;
}

/** Maps our client order ids to the broker's tag / reference and back. */
export interface OrderRefs {
  /** Record that `ref` stands for `clientOrderId`. Returns false if it was already recorded. */
  remember(broker: string, account: string, ref: string, clientOrderId: string): Promise<boolean>;
  /** Our client order id for a broker ref. */
  clientOrderIdOf(broker: string, account: string, ref: string): Promise<string | null>;
}

export type { AppCredentials, BrokerSession };

/** Broker instrument tokens from the imported instrument masters (Upstox `NSE_EQ|INE009A01021`...). */
export interface BrokerInstruments {
  /** The broker's token for an instrument we know by exchange and symbol, or null if not imported. */
  tokenOf(broker: string, exchange: string, symbol: string): Promise<string | null>;
}
