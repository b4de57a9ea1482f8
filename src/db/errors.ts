/**
 * Postgres unique_violation (SQLSTATE 23505), as raised by postgres.js or PGlite, directly or as the
 * cause of a drizzle error.
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return e?.code === '23505' || e?.cause?.code === '23505';
}
