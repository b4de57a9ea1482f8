// After `npm ci`: prebuild what makes the first start fast. Best effort: a failure here never fails the
// install (the server builds or initialises the same things itself, only slower).
const steps = [
  ['GraphiQL bundle', async () => (await import('./build-graphiql.mjs')).buildGraphiql({ quiet: true })],
  ['dashboard bundle', async () => (await import('./build-web.mjs')).buildWeb({ quiet: true })],
  ['PGlite template', async () => (await import('./pglite-template.mjs')).buildPgliteTemplate()],
];
for (const [name, run] of steps) {
  const t = performance.now();
  try {
    await run();
    console.log(`postinstall: ${name} ready (${Math.round(performance.now() - t)} ms)`);
  } catch (err) {
    console.log(`postinstall: ${name} skipped (${err?.message ?? err})`);
  }
}
