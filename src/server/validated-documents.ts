import type { DocumentNode, GraphQLError } from 'graphql';
import { setBounded } from '../lib/bounded-map.js';

/**
 * Parsed and validated operations by their text, bounded (least recently used goes first). Parsing
 * and validation depend only on the text, the schema and the rules, so subscribers sending the same
 * operation share one AST instead of holding a copy each. A text that fails to parse is not kept (the
 * parse error is thrown again each time).
 */
export class ValidatedDocuments {
  private readonly cache = new Map<string, { document: DocumentNode; errors: readonly GraphQLError[] }>();

  constructor(
    private readonly compile: (query: string) => { document: DocumentNode; errors: readonly GraphQLError[] },
    private readonly maxEntries = 500,
    private readonly maxQueryLength = 20_000,
  ) {}

  get(query: string): { document: DocumentNode; errors: readonly GraphQLError[] } {
    const hit = this.cache.get(query);
    if (hit) {
      this.cache.delete(query);
      this.cache.set(query, hit);
      return hit;
    }
    const compiled = this.compile(query);
    if (query.length <= this.maxQueryLength) {
      setBounded(this.cache, query, compiled, this.maxEntries);
    }
    return compiled;
  }
}
