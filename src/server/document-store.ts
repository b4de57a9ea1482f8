import type { DocumentNode } from 'graphql';
import { setBounded } from '../lib/bounded-map.js';

/**
 * Apollo's cache of parsed and validated operations, bounded by count. Apollo's default is bounded by
 * the JSON size of each document (30 MiB), but a parsed document keeps its whole token list alive, so
 * a client sending unique operations (a fuzzer, an attacker) could grow the heap by hundreds of MB
 * before it levels off. Real clients send a few hundred distinct operations at most.
 */
export class BoundedDocumentStore {
  private readonly docs = new Map<string, DocumentNode>();

  constructor(private readonly maxEntries = 500) {}

  async get(key: string): Promise<DocumentNode | undefined> {
    const doc = this.docs.get(key);
    if (doc) {
      // Most recently used last: Map keeps insertion order.
      this.docs.delete(key);
      this.docs.set(key, doc);
    }
    return doc;
  }

  async set(key: string, value: DocumentNode): Promise<void> {
    setBounded(this.docs, key, value, this.maxEntries);
  }

  async delete(key: string): Promise<boolean> {
    return this.docs.delete(key);
  }

  get size(): number {
    return this.docs.size;
  }
}
