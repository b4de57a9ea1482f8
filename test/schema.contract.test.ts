import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isInputObjectType, isIntrospectionType, isObjectType, isInterfaceType, type GraphQLSchema } from 'graphql';
import { buildAppSchema } from '../src/schema/index.js';
import { printContract, SCHEMA_FILE } from '../src/schema/print.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every argument and input field without a description, as `Type.field(arg)` / `Input.field`. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || type.name.startsWith('__')) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const f of Object.values(type.getFields())) {
        for (const a of f.args) if (!a.description?.trim()) missing.push(`${type.name}.${f.name}(${a.name})`);
      }
    }
    if (isInputObjectType(type)) {
      for (const f of Object.values(type.getFields())) if (!f.description?.trim()) missing.push(`${type.name}.${f.name}`);
    }
  }
  return missing;
}

describe('the contract, visible', () => {
  it('schema.graphql at the repository root is the schema the code builds', async () => {
    const built = printContract(await buildAppSchema());
    let file = '';
    try {
      file = readFileSync(path.join(root, SCHEMA_FILE), 'utf8');
    } catch {
      /* missing: reported below */
    }
    // Compare by line so the failure shows what changed; the message says how to fix it.
    expect(file.split('\n'), `${SCHEMA_FILE} is out of date with the code: run \`npm run schema:print\` and commit it`).toEqual(built.split('\n'));
  });

  it('describes every argument and input field', async () => {
    expect(undescribed(await buildAppSchema()), 'add a description to each of these').toEqual([]);
  });
});
