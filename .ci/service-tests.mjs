#!/usr/bin/env node
// Prints the test files whose outcome can depend on Postgres + Redis: those that name the services or the
// test modes themselves (modes(), DATABASE_URL, REDIS_URL, TEST_MODES, REQUIRE_SERVICES), or import such a
// helper from test/ (followed transitively through relative imports). CI's scaled pass runs only these:
// the others behave the same whatever services are given, and its embedded pass already ran them.
// Type-only imports are left out (erased, they change nothing at run time). A helper marked
// `service-tests: the caller decides` (test/support/server.ts: it starts the embedded mode unless its
// caller asks for `scaled`) is not followed: a caller then counts only if it names the services or the
// modes itself, the literal 'scaled' included.
// With --others it prints the complement instead (to check the split by hand). With --pass=scaled or
// --pass=embedded it prints what each of CI's two passes runs (BALANCE, below): together every file,
// and every file that can depend on the services in both modes.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const NAMES_SERVICES = /\bmodes\(\)|DATABASE_URL|REDIS_URL|TEST_MODES|REQUIRE_SERVICES|['"]scaled['"]/;
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b[^;]*;/gm;
const CALLER_DECIDES = 'service-tests: the caller decides';
const IMPORT = /(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|import\s*['"](\.[^'"]+)['"]/g;

function resolve(from, spec) {
  const p = path.resolve(path.dirname(from), spec);
  for (const c of [p, p.replace(/\.js$/, '.ts'), `${p}.ts`, path.join(p, 'index.ts')]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

const memo = new Map();
function dependsOnServices(file, visiting = new Set()) {
  if (memo.has(file)) return memo.get(file);
  if (visiting.has(file)) return false;
  visiting.add(file);
  const src = fs.readFileSync(file, 'utf8');
  // A helper whose caller decides the mode depends on the services only through that caller.
  if (src.includes(CALLER_DECIDES)) return false;
  let answer = NAMES_SERVICES.test(src);
  if (!answer) {
    for (const m of src.replace(TYPE_ONLY, '').matchAll(IMPORT)) {
      const target = resolve(file, m[1] ?? m[2] ?? m[3]);
      // Only the test helpers are followed: product code reads its configuration, not the test mode.
      if (target && target.startsWith(path.join(ROOT, 'test') + path.sep) && dependsOnServices(target, visiting)) {
        answer = true;
        break;
      }
    }
  }
  memo.set(file, answer);
  return answer;
}

function testFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'node_modules') out.push(...testFiles(p)); }
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * Files that do not depend on the services but run in CI's scaled pass instead of its embedded one, so
 * the two passes, side by side, end at about the same time (the embedded pass runs every other file).
 * Long, and mostly waiting on documented broker rate limits or on PGlite, not on the services.
 */
const BALANCE = ['test/brokers/ibkr.wire.test.ts', 'test/ledger.property.test.ts'];

const all = [...testFiles(path.join(ROOT, 'src')), ...testFiles(path.join(ROOT, 'test'))].map((f) => path.relative(ROOT, f)).sort();
const services = all.filter((f) => dependsOnServices(path.join(ROOT, f)));
if (services.length === 0) { console.error('service-tests: no test file depends on the services?'); process.exit(1); }
for (const f of BALANCE) {
  if (!all.includes(f) || services.includes(f)) { console.error(`service-tests: ${f} (BALANCE) is not a test file independent of the services`); process.exit(1); }
}
const pass = process.argv.find((a) => a.startsWith('--pass='))?.slice('--pass='.length);
let files;
if (process.argv.includes('--others')) files = all.filter((f) => !services.includes(f));
else if (pass === 'scaled') files = [...services, ...BALANCE].sort();
else if (pass === 'embedded') files = all.filter((f) => !BALANCE.includes(f));
else if (pass === undefined) files = services;
else { console.error(`service-tests: unknown pass "${pass}" (embedded, scaled)`); process.exit(1); }
console.log(files.join('\n'));
