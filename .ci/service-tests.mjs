#!/usr/bin/env node
// Prints the test files whose outcome can depend on Postgres + Redis: those that name the services or the
// test modes themselves (modes(), DATABASE_URL, REDIS_URL, TEST_MODES, REQUIRE_SERVICES), or import such a
// helper from test/ (followed transitively through relative imports). CI's scaled pass runs only these:
// the others behave the same whatever services are given, and its embedded pass already ran them.
// With --others it prints the complement instead (to check the split by hand).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const NAMES_SERVICES = /\bmodes\(\)|DATABASE_URL|REDIS_URL|TEST_MODES|REQUIRE_SERVICES/;
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
  let answer = NAMES_SERVICES.test(src);
  if (!answer) {
    for (const m of src.matchAll(IMPORT)) {
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

const others = process.argv.includes('--others');
const files = [...testFiles(path.join(ROOT, 'src')), ...testFiles(path.join(ROOT, 'test'))]
  .filter((f) => dependsOnServices(f) !== others)
  .map((f) => path.relative(ROOT, f))
  .sort();
if (!others && files.length === 0) { console.error('service-tests: no test file depends on the services?'); process.exit(1); }
console.log(files.join('\n'));
