import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Keys that hold secrets (broker API secrets, tokens, passwords): never written to a log line. */
const SECRET_KEYS = [
  'apiSecret',
  'secretKey',
  'clientSecret',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'request_token',
  'requestToken',
  'api_secret',
  'client_secret',
  'checksum',
  'password',
  'pin',
  'totp',
  'jwtToken',
  'feedToken',
  'authorization',
  'Authorization',
  'credentials',
  'credentialsSealed',
  'appIdHash',
];

/** pino redaction paths: each secret key at the top level and up to two levels down. */
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(level: string, name = 'tradegraph', destination?: DestinationStream): Logger {
  const opts = { name, level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that discards everything, for tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
