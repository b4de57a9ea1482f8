import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import type { EnvSchema } from './env.schema.js';

/** A secret from the environment, or (embedded mode only) one generated once and kept in the data folder. */
export function secret(value: string | undefined, name: string, dataDir: string | undefined, bytes: number): Buffer {
  if (value) return name === 'ENCRYPTION_KEY' ? decodeKey(value) : Buffer.from(value, 'utf8');
  if (!dataDir) throw new ConfigError(`${name} is required when DATABASE_URL is set (every replica must share it)`);
  const file = path.join(dataDir, `.${name.toLowerCase()}`);
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const generated = randomBytes(bytes);
  writeFileSync(file, generated.toString('base64'), { mode: 0o600 });
  return generated;
}

export function decodeKey(value: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) throw new ConfigError('ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  return key;
}

/** Secrets that are published (docs, tests, examples) and so protect nothing. */
const KNOWN_SECRETS = [
  'test-secret-that-is-long-enough-for-hs256-000000',
  Buffer.alloc(32, 7).toString('base64'),
  Buffer.alloc(32, 0).toString('base64'),
  'change-me',
  'changeme',
  'secret',
];

/**
 * NODE_ENV=production refuses to start unsafe: secrets must be given (never generated into a data
 * folder), must not be published defaults or trivially repetitive, and the demo user (a known
 * password) is never seeded.
 */
export function refuseUnsafeProduction(e: z.infer<typeof EnvSchema>): void {
  const problems: string[] = [];
  for (const name of ['JWT_SECRET', 'ENCRYPTION_KEY'] as const) {
    const v = e[name];
    if (!v) problems.push(`${name} is required in production`);
    else if (KNOWN_SECRETS.some((k) => v.toLowerCase() === k.toLowerCase()) || (name === 'JWT_SECRET' && new Set(v).size < 8)) {
      problems.push(`${name} is a default or example value; generate one (openssl rand -base64 48)`);
    }
  }
  if (e.SEED_DEMO) problems.push('SEED_DEMO cannot be on in production (the demo password is public)');
  if (problems.length) throw new ConfigError(`Refusing to start in production:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
