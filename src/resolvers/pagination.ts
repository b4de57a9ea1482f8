import { BadInputError } from '../errors.js';
import type { GqlContext } from './context.js';

/** A page size within [1, MAX_PAGE_SIZE]; out of range is BAD_USER_INPUT rather than silently clamped. */
export function pageSize(first: number | null | undefined, ctx: GqlContext, fallback: number): number {
  const max = ctx.services.limits.maxPageSize;
  if (first === null || first === undefined) return Math.min(fallback, max);
  if (first < 1 || first > max) throw new BadInputError(`first must be between 1 and ${max}`, 'first', 'PAGE_SIZE');
  return first;
}

/**
 * A connection's Relay PageInfo from its edges. Connections page forwards (`first`/`after`), so, as the
 * Relay spec allows for forward paging, hasPreviousPage says whether the page was asked for `after` a
 * cursor (the cursor's item, at least, comes before it); a first page has none. startCursor and endCursor
 * are the first and last edge's cursors (null on an empty page).
 */
export function pageInfo(edges: { cursor: string }[], hasNextPage: boolean, after: string | null | undefined, hasPreviousPage = Boolean(after)) {
  return { hasNextPage, hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null };
}
