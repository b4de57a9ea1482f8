/**
 * Put `key` in `map` as its newest entry and drop the oldest entries while the map holds more than `max`:
 * a cache of bounded size that forgets in insertion order (a Map iterates in that order).
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
