/**
 * What test files start and must close again: with `isolate: false` (vitest.config.ts) the files of a
 * worker share one process, so a server left running would go on ticking, polling and holding memory
 * through every file after it. `test/support/closes-what-it-opens.ts` fails the file that leaves one.
 */
const open = new Map<object, string>();

/** Record `resource` as open; the returned function records it closed. */
export function opened(resource: object, label: string): () => void {
  open.set(resource, label);
  return () => open.delete(resource);
}

/** Labels of what is still open. */
export function stillOpen(): string[] {
  return [...open.values()];
}

/** Forget everything recorded (after reporting it), so one leak fails one file, not every file after it. */
export function forgetOpen(): void {
  open.clear();
}
