/** `npm run schema:print`: writes the built schema to schema.graphql at the repository root. */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printAppSchema, SCHEMA_FILE } from '../src/schema/print.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, SCHEMA_FILE);
writeFileSync(file, await printAppSchema());
console.log(`wrote ${path.relative(process.cwd(), file) || SCHEMA_FILE}`);
