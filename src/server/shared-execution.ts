import {
  Kind,
  createSourceEventStream,
  getOperationAST,
  execute,
  print,
  subscribe,
  visit,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';

/**
 * Subscription root fields whose events are the same object for every subscriber of a key (the quote
 * fan-out delivers one message object per tick, src/market/quote-fanout.ts) and whose result depends
 * only on that object and the selection, never on the viewer. For these, an event is executed once per
 * distinct selection and the result shared by every subscriber, instead of once per subscriber per tick.
 */
export const SHARED_ROOT_FIELDS: ReadonlySet<string> = new Set(['quotes', 'watchlistQuotes']);

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Per event object: results by selection key. Weak, so an event's results go when the event does. */
const results = new WeakMap<object, Map<string, Result>>();
const printed = new WeakMap<object, string>();

/** The shared root field of a one-field subscription operation, if it is one. */
function sharedField(args: ExecutionArgs): FieldNode | null {
  const op = getOperationAST(args.document, args.operationName);
  if (!op || op.operation !== 'subscription' || op.selectionSet.selections.length !== 1) return null;
  const field = op.selectionSet.selections[0];
  return field.kind === Kind.FIELD && SHARED_ROOT_FIELDS.has(field.name.value) ? field : null;
}

/**
 * What makes two subscribers' results equal for the same event: the operation text and the variables it
 * uses anywhere other than the root field's own arguments (those choose the key: symbols, watchlist id,
 * and do not shape the result; a variable also used in the selection, e.g. by @include, stays in).
 */
export function selectionKey(args: ExecutionArgs, field: FieldNode): string {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  const total = new Map<string, number>();
  visit(args.document, {
    VariableDefinition: () => false,
    Variable: (node) => {
      total.set(node.name.value, (total.get(node.name.value) ?? 0) + 1);
    },
  });
  const inRootArgs = new Map<string, number>();
  for (const a of field.arguments ?? [])
    visit(a, {
      Variable: (node) => {
        inRootArgs.set(node.name.value, (inRootArgs.get(node.name.value) ?? 0) + 1);
      },
    });
  const vars = args.variableValues ?? {};
  const used = [...total].filter(([name, n]) => n > (inRootArgs.get(name) ?? 0)).map(([name]) => [name, vars[name]]);
  return `${args.operationName ?? ''}\u0000${text}\u0000${JSON.stringify(used)}`;
}

/** Execute `event` for this selection once; later subscribers with the same selection get the same result. */
function executeShared(args: ExecutionArgs, event: unknown, key: string): Result {
  if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
  let byKey = results.get(event);
  if (!byKey) results.set(event, (byKey = new Map()));
  let r = byKey.get(key);
  if (!r) {
    r = execute({ ...args, rootValue: event });
    byKey.set(key, r);
  }
  return r;
}

/**
 * graphql-ws's `subscribe`: `graphql.subscribe` for every operation, except one-field subscriptions of a
 * {@link SHARED_ROOT_FIELDS} field, whose events are mapped through {@link executeShared}. The source
 * stream (and so auth, argument checks and limits in its `subscribe` resolver) is still per subscriber.
 */
export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult> {
  const field = sharedField(args);
  if (!field) return subscribe(args);
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source; // errors before the stream (bad input, auth)
  const key = selectionKey(args, field);
  const it = source[Symbol.asyncIterator]();
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const r = await it.next();
      if (r.done) return r;
      return { value: await executeShared(args, r.value, key), done: false };
    },
    async return() {
      await it.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown) {
      await it.return?.();
      throw err;
    },
  };
  return mapped;
}
