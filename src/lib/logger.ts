import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'tradegraph'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A logger that discards everything, for tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
