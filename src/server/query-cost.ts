import { GraphQLError, Kind, validate, visit, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { ErrorCode } from '../errors.js';
import { costOptions, limitMessage } from './limits.js';

/** The page-size arguments graphql-armor's cost model multiplies a selection by. */
const PAGE_ARGUMENTS = new Set(['first', 'last']);

/** Per document: whether any `first`/`last` takes its value from a variable (found once per parsed document). */
const sizedByVariable = new WeakMap<DocumentNode, boolean>();

function hasVariablePageSize(document: DocumentNode): boolean {
  let found = sizedByVariable.get(document);
  if (found !== undefined) return found;
  found = false;
  visit(document, {
    Argument(node) {
      if (PAGE_ARGUMENTS.has(node.name.value) && node.value.kind === Kind.VARIABLE) found = true;
      return false;
    },
  });
  sizedByVariable.set(document, found);
  return found;
}

/**
 * graphql-armor's cost limit, applied with the request's variables. Its rule runs once per document text
 * (Apollo and the sockets cache validation), so it multiplies a selection by `first`/`last` only when
 * they are written inline: `orders(first: $n)` counted once whatever `$n` is, and a connection nested in
 * a connection with `$n = 200` (40,000 rows) passed where the same query written `first: 200` was refused.
 * Here each `first`/`last` variable is put in the document as the integer the request gives it (or its
 * declared default), and the same rule, with the same options, costs that document. Documents without
 * such a variable are left to the cached rule: the result would be the same.
 */
export function checkQueryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  maxCost: number,
): GraphQLError | null {
  if (!hasVariablePageSize(document)) return null;
  const vars = variables ?? {};
  const defaults = new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.defaultValue]));
  const sized = visit(document, {
    Argument(node) {
      if (!PAGE_ARGUMENTS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const name = node.value.name.value;
      const given = vars[name];
      const fallback = defaults.get(name);
      const value = Number.isSafeInteger(given) ? String(given) : fallback?.kind === Kind.INT ? fallback.value : null;
      // Absent, null or not an integer: graphql-js refuses or ignores it; the rule counts it as 1, as before.
      return value === null ? undefined : { ...node, value: { kind: Kind.INT, value } };
    },
  });
  let refused: GraphQLError | null = null;
  validate(schema, sized, [
    costLimitRule({
      ...costOptions(maxCost),
      propagateOnRejection: false,
      onReject: [
        (_context, err) => {
          refused = err;
        },
      ],
    }),
  ]);
  if (!refused) return null;
  return new GraphQLError(limitMessage((refused as GraphQLError).message), {
    extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, http: { status: 400 } },
  });
}
