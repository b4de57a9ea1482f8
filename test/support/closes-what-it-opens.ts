import { afterAll } from 'vitest';
import { forgetOpen, stillOpen } from './open-resources.js';

// A setup file: its afterAll runs after the test file's own hooks (vitest runs afterAll hooks in
// reverse order of registration), so anything still open here was left open by the file.
afterAll(() => {
  const left = stillOpen();
  forgetOpen();
  if (left.length > 0) throw new Error(`the test file left open: ${left.join(', ')} (close them in afterAll)`);
});
