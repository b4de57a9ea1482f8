import {
  GraphQLError,
  Kind,
  TypeInfo,
  getNullableType,
  isInputObjectType,
  isListType,
  isScalarType,
  typeFromAST,
  valueFromAST,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { ErrorCode } from '../errors.js';

/** Every object id this API hands out is a UUID; anything else cannot name an object of ours. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Arguments typed ID that are not UUIDs (coordinates `Type.field.argument` or `Input.field`). */
export const NON_UUID_IDS = new Set<string>([]);

export interface InputGuardLimits {
  /** Longest string accepted in any argument (characters). */
  maxStringLength: number;
}

/**
 * Input checked at the boundary, before any resolver or SQL runs, the same for HTTP and sockets:
 * - an `ID` that is not a UUID names nothing: NOT_FOUND (as another user's object would be);
 * - a string with a NUL character (Postgres text cannot hold one) or longer than the limit:
 *   BAD_USER_INPUT with `field` and `reason` (`NUL_CHARACTER`, `TOO_LONG`).
 * Walks literal arguments and the variables the operation declares, through input objects and lists.
 * Values of the wrong type are left to graphql-js, which rejects them as BAD_USER_INPUT itself.
 */
export function guardInput(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  limits: InputGuardLimits,
): GraphQLError | null {
  const vars = variables ?? {};
  let found: GraphQLError | null = null;
  const check = (value: unknown, type: GraphQLInputType, field: string, coordinate: string) => {
    if (found || value === null || value === undefined) return;
    const t = getNullableType(type);
    if (isListType(t)) {
      if (Array.isArray(value)) for (const v of value) check(v, t.ofType, field, coordinate);
      else check(value, t.ofType, field, coordinate);
      return;
    }
    if (isInputObjectType(t)) {
      if (typeof value !== 'object' || Array.isArray(value)) return;
      const fields = t.getFields();
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const f = fields[k];
        if (f) check(v, f.type, `${field}.${k}`, `${t.name}.${k}`);
      }
      return;
    }
    if (!isScalarType(t)) return;
    if (t.name === 'ID' && (typeof value === 'string' || typeof value === 'number') && !NON_UUID_IDS.has(coordinate)) {
      if (!UUID.test(String(value))) found = notFound(field, String(value));
      return;
    }
    found = badString(value, field, limits) ?? found;
  };

  // Variables the operation declares, with the types it declares for them.
  for (const def of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, def.type);
    if (type) check(vars[def.variable.name.value], type as GraphQLInputType, def.variable.name.value, `$${def.variable.name.value}`);
  }
  if (found) return found;

  // Literal arguments (variables inside them were checked above, valueFromAST resolves them again).
  for (const site of literalArguments(schema, document)) {
    check(valueFromAST(site.node.value, site.type, vars), site.type, site.node.name.value, site.coordinate);
    if (found) break;
  }
  return found;
}

interface LiteralArgument {
  node: ArgumentNode;
  type: GraphQLInputType;
  coordinate: string;
}

/** Where a document writes an argument's value inline, in document order: found once per document (a
 * walk of the whole document with type information), as Apollo and the sockets keep one parsed document per
 * operation text. */
const literalSites = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, LiteralArgument[]>>();

function literalArguments(schema: GraphQLSchema, document: DocumentNode): LiteralArgument[] {
  let bySchema = literalSites.get(schema);
  if (!bySchema) literalSites.set(schema, (bySchema = new WeakMap()));
  let sites = bySchema.get(document);
  if (sites) return sites;
  const found: LiteralArgument[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const type = typeInfo.getInputType();
        const arg = typeInfo.getArgument();
        const parent = typeInfo.getParentType();
        const fieldDef = typeInfo.getFieldDef();
        if (!type || node.value.kind === Kind.VARIABLE) return false;
        found.push({ node, type, coordinate: `${parent?.name ?? '?'}.${fieldDef?.name ?? '?'}.${arg?.name ?? node.name.value}` });
        return false;
      },
    }),
  );
  bySchema.set(document, (sites = found));
  return sites;
}

/** Strings anywhere in a scalar's value (a JSON scalar may hold nested objects). */
function badString(value: unknown, field: string, limits: InputGuardLimits, depth = 0): GraphQLError | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return badInput(field, 'NUL_CHARACTER', `${field} must not contain NUL characters`);
    if (value.length > limits.maxStringLength) return badInput(field, 'TOO_LONG', `${field} is longer than ${limits.maxStringLength} characters`);
    return null;
  }
  if (value && typeof value === 'object' && depth < 32) {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) return badInput(field, 'NUL_CHARACTER', `${field} must not contain NUL characters`);
      const e = badString(v, field, limits, depth + 1);
      if (e) return e;
    }
  }
  return null;
}

function badInput(field: string, reason: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field, reason, http: { status: 400 } } });
}

function notFound(field: string, id: string): GraphQLError {
  // The id is echoed only when it is short and printable, so the error never carries hostile bytes back.
  const shown = id.length <= 64 && /^[\x20-\x7e]*$/.test(id) ? { id } : {};
  return new GraphQLError('Not found', { extensions: { code: ErrorCode.NOT_FOUND, field, ...shown, http: { status: 200 } } });
}
