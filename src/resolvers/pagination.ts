import { BadInputError } from '../errors.js';
import type { GqlContext } from './context.js';

/** A page size within [1, MAX_PAGE_SIZE]; out of range is BAD_USER_INPUT rather than silently clamped. */
export function pageSize(first: number | null | undefined, ctx: GqlContext, fallback: number): number {
  const max = ctx.services.limits.maxPageSize;
  if (first === null || first === undefined) return Math.min(fallback, max);
  if (first < 1 || first > max) throw new BadInputError(`first must be between 1 and ${max}`, 'first', 'PAGE_SIZE');
  return first;
}
