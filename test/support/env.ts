/**
 * Which modes the integration suite runs in. Embedded always; scaled (Postgres + Redis) when both URLs
 * are given. With REQUIRE_SERVICES=1 (CI's second run) a missing URL is an error, never a silent skip.
 */
export const DATABASE_URL = process.env.DATABASE_URL;
export const REDIS_URL = process.env.REDIS_URL;

export type Mode = 'embedded' | 'scaled';

export function modes(): Mode[] {
  const scaled = Boolean(DATABASE_URL && REDIS_URL);
  if (process.env.REQUIRE_SERVICES === '1' && !scaled) {
    throw new Error('REQUIRE_SERVICES=1 but DATABASE_URL and REDIS_URL are not both set: the scaled mode would not be tested');
  }
  return scaled ? ['embedded', 'scaled'] : ['embedded'];
}
