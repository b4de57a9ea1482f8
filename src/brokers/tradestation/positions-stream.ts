import type { Logger } from '../../lib/logger.js';
import { BrokerAuthError } from '../broker.js';
import { ChunkedJsonStream, type StreamTarget } from './stream.js';
import { PositionBook, type TsStreamPosition } from './position-book.js';

export interface PositionsStreamOptions {
  /** Connection id (for logs). */
  account: string;
  /** URL and headers of `GET /brokerage/stream/accounts/{id}/positions` with a fresh access token. */
  open: () => Promise<StreamTarget>;
  idleMs?: number;
  logger: Logger;
}

/**
 * A connection's positions stream (`GET /v3/brokerage/stream/accounts/{id}/positions`, the same chunked
 * JSON framing as the order stream: snapshot, `EndSnapshot`, heartbeats, `GoAway`, `{Error, Message}`),
 * kept as a {@link PositionBook}. Reconnection (fresh token, backoff, GoAway, idle limit) is
 * {@link ChunkedJsonStream}'s; every connection re-reads the snapshot.
 */
export class PositionsStream {
  readonly book = new PositionBook();
  private readonly stream: ChunkedJsonStream;

  constructor(o: PositionsStreamOptions) {
    this.stream = new ChunkedJsonStream({
      idleMs: o.idleMs,
      open: o.open,
      onConnected: () => this.book.beginSnapshot(),
      onStatus: (status) => {
        if (status === 'EndSnapshot') this.book.endSnapshot();
        else if (status === 'GoAway') this.book.invalidate();
      },
      onMessage: (m) => {
        if (m.Error) {
          this.book.invalidate();
          o.logger.warn({ connectionId: o.account, error: String(m.Error), message: String(m.Message ?? '').slice(0, 200) }, 'TradeStation positions stream reported an error');
        } else if (typeof m.Symbol === 'string') this.book.apply(m as unknown as TsStreamPosition);
      },
      onDrop: (reason, err) => {
        this.book.invalidate();
        if (err instanceof BrokerAuthError) return { fatal: true };
        o.logger.debug({ connectionId: o.account, reason }, 'TradeStation positions stream dropped; reconnecting');
      },
    });
  }

  /** The live positions, or null unless the stream is connected and its snapshot complete (then: ask REST). */
  positions(): TsStreamPosition[] | null {
    return this.stream.state === 'live' ? this.book.positions() : null;
  }

  get state(): string {
    return this.stream.state;
  }

  get connects(): number {
    return this.stream.connects;
  }

  close(): void {
    this.book.invalidate();
    this.stream.close();
  }
}
