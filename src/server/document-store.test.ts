import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { BoundedDocumentStore } from './document-store.js';

describe('the bounded document store', () => {
  it('keeps at most its capacity, evicting the least recently used', async () => {
    const store = new BoundedDocumentStore(2);
    await store.set('a', parse('{ a }'));
    await store.set('b', parse('{ b }'));
    expect(await store.get('a')).toBeDefined(); // a is now the most recent
    await store.set('c', parse('{ c }'));
    expect(store.size).toBe(2);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    expect(await store.get('c')).toBeDefined();
  });
});
