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
  const all: Mode[] = scaled ? ['embedded', 'scaled'] : ['embedded'];
  // TEST_MODES narrows a run (CI's second pass: `scaled`, since its first pass ran the embedded mode).
  const only = process.env.TEST_MODES?.split(',').map((m) => m.trim()).filter(Boolean);
  if (!only?.length) return all;
  for (const m of only) {
    if (m !== 'embedded' && m !== 'scaled') throw new Error(`TEST_MODES: unknown mode "${m}" (embedded, scaled)`);
    if (!all.includes(m)) throw new Error(`TEST_MODES=${m} but that mode is not available (the scaled mode needs DATABASE_URL and REDIS_URL)`);
  }
  return all.filter((m) => only.includes(m));
}
