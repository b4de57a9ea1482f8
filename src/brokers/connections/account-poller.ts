import { BrokerAuthError } from '../broker.js';
import type { Logger } from '../../lib/logger.js';

/**
 * The polling half of an adapter's fill feed: every `intervalMs`, each active connection of the broker
 * is reconciled by the adapter's `pollAccount` (orders and trades read back, new fills emitted), one pass
 * at a time. A connection whose session has gone (BrokerAuthError) is skipped quietly: it is EXPIRED
 * already and nothing is retried until it is reconnected.
 */
export class AccountPoller {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly o: {
      /** For log lines: "Angel One poll failed". */
      label: string;
      logger: Logger;
      accounts: () => Promise<Array<{ connectionId: string }>>;
      pollAccount: (connectionId: string) => Promise<void>;
    },
  ) {}

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  /** One pass over every active connection; a pass still running makes this one a no-op. */
  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const c of await this.o.accounts()) {
        await this.o.pollAccount(c.connectionId).catch((err: Error) => {
          if (!(err instanceof BrokerAuthError)) this.o.logger.warn({ err: { name: err.name, message: err.message }, connectionId: c.connectionId }, `${this.o.label} poll failed`);
        });
      }
    } catch (err) {
      // The connections could not be listed (the database is away, or closing): the next pass tries again.
      // Never a rejection out of the timer's callback.
      this.o.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, `${this.o.label} poll could not list connections`);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
