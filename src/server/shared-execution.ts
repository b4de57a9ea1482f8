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
import { closeFrameSink, frameSinkOf, SharedFrame, type FrameSink } from './frame-fanout.js';

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
/** Per event object: the socket frames by selection key (the direct path, frame-fanout.ts). */
const frames = new WeakMap<object, Map<string, SharedFrame>>();

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

/** Hand `event` to a socket subscriber: executed and serialised once per selection, then written as bytes. */
function deliverShared(args: ExecutionArgs, event: unknown, key: string, sink: FrameSink): void {
  if (typeof event !== 'object' || event === null) {
    new SharedFrame(execute({ ...args, rootValue: event }), sink.formatError).deliver(sink);
    return;
  }
  let byKey = frames.get(event);
  if (!byKey) frames.set(event, (byKey = new Map()));
  let f = byKey.get(key);
  if (!f) byKey.set(key, (f = new SharedFrame(execute({ ...args, rootValue: event }), sink.formatError)));
  f.deliver(sink);
}

/** A source stream that can hand its events to a callback instead of being pulled (events/async-iterator.ts). */
interface Divertible {
  divert(sink: (value: unknown) => void): void;
}

function divertible(it: AsyncIterator<unknown>): it is AsyncIterator<unknown> & Divertible {
  return typeof (it as Partial<Divertible>).divert === 'function';
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
  const sink = frameSinkOf(args.contextValue);
  if (sink && divertible(it)) {
    // Direct path: events go from the fan-out to the socket with no promise per subscriber per event.
    // graphql-ws still holds an iterator (to end it on `complete` or close); its next() settles only
    // when the stream ends, so graphql-ws then sends `complete` as usual.
    it.divert((event) => deliverShared(args, event, key, sink));
    const direct: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]: () => direct,
      async next() {
        const r = await it.next();
        if (r.done) closeFrameSink(sink);
        return r.done ? r : { value: await executeShared(args, r.value, key), done: false };
      },
      async return() {
        closeFrameSink(sink);
        await it.return?.();
        return { value: undefined, done: true };
      },
      async throw(err: unknown) {
        closeFrameSink(sink);
        await it.return?.();
        throw err;
      },
    };
    return direct;
  }
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
