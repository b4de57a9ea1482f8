#!/usr/bin/env node
// `node scripts/check-api-contract.mjs [path/to/API.md]` (default ../shared/API.md): every name the team's
// API.md promises clients, checked against schema.graphql (what the code builds; test/schema.contract.test.ts
// keeps the two equal). Each ```graphql block of API.md holds type, input and enum definitions and bare root
// fields (`name(args): Type`, `subscription name(args): Type`); for each, the type exists, every field and
// enum value exists, and every field's and argument's type matches exactly, nullability included (a client's
// generated code relies on it). Comments and prose are ignored. Prints each difference; exits 1 if any.
// API.md lives outside this repository, so this is a tool to run when it changes, not a test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse } from 'graphql';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const apiPath = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'API.md'));
const md = readFileSync(apiPath, 'utf8');
const schema = buildSchema(readFileSync(path.join(root, 'schema.graphql'), 'utf8'));
const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean);

const typeText = (t) => (t.kind === 'NonNullType' ? `${typeText(t.type)}!` : t.kind === 'ListType' ? `[${typeText(t.type)}]` : t.name.value);
const problems = [];
let checked = 0;

for (const [, raw] of md.matchAll(/```graphql\n([\s\S]*?)```/g)) {
  const block = raw.replace(/#[^\n]*/g, '');
  // Definitions with a body (and scalars) parse as SDL; what is left are bare root fields.
  const defs = [];
  const rest = block
    .replace(/\bscalar\s+\w+/g, (m) => (defs.push(m), ''))
    .replace(/\b(?:type|input|enum|interface)\s+\w+[^{]*\{[^}]*\}/g, (m) => (defs.push(m), ''))
    .replace(/\bunion\s+\w+\s*=\s*[\w\s|]+/g, (m) => (defs.push(m), ''));
  for (const d of defs.length ? parse(defs.join('\n')).definitions : []) {
    const t = schema.getType(d.name.value);
    checked++;
    if (!t) {
      problems.push(`type ${d.name.value}: missing`);
      continue;
    }
    for (const v of d.values ?? []) if (!t.getValue(v.name.value)) problems.push(`${d.name.value}.${v.name.value}: missing`);
    for (const f of d.fields ?? []) {
      checked++;
      const sf = t.getFields()[f.name.value];
      if (!sf) {
        problems.push(`${d.name.value}.${f.name.value}: missing`);
        continue;
      }
      if (typeText(f.type) !== String(sf.type)) problems.push(`${d.name.value}.${f.name.value}: API.md ${typeText(f.type)}, schema ${sf.type}`);
      for (const a of f.arguments ?? []) {
        const sa = sf.args.find((x) => x.name === a.name.value);
        if (!sa) problems.push(`${d.name.value}.${f.name.value}(${a.name.value}): missing`);
        else if (typeText(a.type) !== String(sa.type)) problems.push(`${d.name.value}.${f.name.value}(${a.name.value}): API.md ${typeText(a.type)}, schema ${sa.type}`);
      }
    }
  }
  // A root field may continue on the next lines (its arguments): join those first.
  const joined = rest.replace(/\n\s+(?=[a-zA-Z_]+\s*:|[,)])/g, ' ');
  for (const m of joined.matchAll(/^\s*(?:subscription\s+)?([a-zA-Z]\w*)\s*(?:\(([^)]*)\))?\s*:\s*([[\]\w!]+)/gm)) {
    const [, name, args = '', ret] = m;
    checked++;
    const f = roots.map((r) => r.getFields()[name]).find(Boolean);
    if (!f) {
      problems.push(`root field ${name}: missing`);
      continue;
    }
    if (String(f.type) !== ret) problems.push(`root field ${name}: API.md ${ret}, schema ${f.type}`);
    for (const [, an, at] of args.matchAll(/(\w+)\s*:\s*([[\]\w!]+)/g)) {
      const sa = f.args.find((x) => x.name === an);
      if (!sa) problems.push(`root field ${name}(${an}): missing`);
      else if (String(sa.type) !== at) problems.push(`root field ${name}(${an}): API.md ${at}, schema ${sa.type}`);
    }
  }
}

console.log(`${apiPath}: ${checked} types and fields checked against schema.graphql`);
for (const p of problems) console.log(`  ${p}`);
if (problems.length) {
  console.log(`${problems.length} difference(s)`);
  process.exit(1);
}
console.log('no differences');
