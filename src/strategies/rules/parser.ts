import { RuleError, type ArithOp, type CompareOp, type Field, type Node, type Pos } from './ast.js';

type TokenKind = 'num' | 'ident' | 'op' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  pos: Pos;
}

/** Longest rule accepted, in characters; with the node cap it bounds the cost of one evaluation. */
export const MAX_RULE_LENGTH = 4000;
export const MAX_NODES = 256;

const OPS = ['<=', '>=', '==', '!=', '<', '>', '+', '-', '*', '/', '(', ')', '[', ']', ','];
const FIELDS: readonly string[] = ['open', 'high', 'low', 'close', 'volume'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      col = 1;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      col++;
      continue;
    }
    const pos = { line, column: col };
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i, i + 64));
    if (num) {
      out.push({ kind: 'num', text: num[0], pos });
      i += num[0].length;
      col += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 128));
    if (id) {
      out.push({ kind: 'ident', text: id[0], pos });
      i += id[0].length;
      col += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new RuleError(`Unexpected character '${c}'`, line, col);
    out.push({ kind: 'op', text: op, pos });
    i += op.length;
    col += op.length;
  }
  out.push({ kind: 'eof', text: '', pos: { line, column: col } });
  return out;
}

/**
 * Parse a rule into its AST (syntax only; `check` types it and validates indicator calls).
 * Grammar, loosest first: or, and, not, comparison, + -, * /, unary -, postfix [n], primary.
 */
export function parse(src: string): Node {
  if (src.length > MAX_RULE_LENGTH) throw new RuleError(`Rule is longer than ${MAX_RULE_LENGTH} characters`, 1, 1, 'TOO_COMPLEX');
  const toks = tokenize(src);
  let p = 0;
  let nodes = 0;
  const peek = () => toks[p]!;
  const isWord = (t: Token, w: string) => t.kind === 'ident' && t.text.toLowerCase() === w;
  const isOp = (t: Token, o: string) => t.kind === 'op' && t.text === o;
  const node = <N extends Node>(n: N): N => {
    if (++nodes > MAX_NODES) throw new RuleError(`Rule has more than ${MAX_NODES} terms`, n.pos.line, n.pos.column, 'TOO_COMPLEX');
    return n;
  };
  const fail = (t: Token, what: string): never => {
    throw new RuleError(t.kind === 'eof' ? `Unexpected end of rule, expected ${what}` : `Unexpected '${t.text}', expected ${what}`, t.pos.line, t.pos.column);
  };
  const expect = (o: string) => {
    const t = peek();
    if (!isOp(t, o)) fail(t, `'${o}'`);
    p++;
  };

  const orExpr = (): Node => {
    let left = andExpr();
    while (isWord(peek(), 'or')) {
      const t = toks[p++]!;
      left = node({ kind: 'logic', op: 'or', left, right: andExpr(), pos: t.pos });
    }
    return left;
  };
  const andExpr = (): Node => {
    let left = notExpr();
    while (isWord(peek(), 'and')) {
      const t = toks[p++]!;
      left = node({ kind: 'logic', op: 'and', left, right: notExpr(), pos: t.pos });
    }
    return left;
  };
  const notExpr = (): Node => {
    const t = peek();
    if (isWord(t, 'not')) {
      p++;
      return node({ kind: 'not', arg: notExpr(), pos: t.pos });
    }
    return compare();
  };
  const compare = (): Node => {
    const left = additive();
    const t = peek();
    if (t.kind === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(t.text)) {
      p++;
      const right = additive();
      const n = node({ kind: 'compare', op: t.text as CompareOp, left, right, pos: t.pos });
      const after = peek();
      if (after.kind === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(after.text)) fail(after, "'and' or 'or' between comparisons");
      return n;
    }
    return left;
  };
  const additive = (): Node => {
    let left = multiplicative();
    while (isOp(peek(), '+') || isOp(peek(), '-')) {
      const t = toks[p++]!;
      left = node({ kind: 'arith', op: t.text as ArithOp, left, right: multiplicative(), pos: t.pos });
    }
    return left;
  };
  const multiplicative = (): Node => {
    let left = unary();
    while (isOp(peek(), '*') || isOp(peek(), '/')) {
      const t = toks[p++]!;
      left = node({ kind: 'arith', op: t.text as ArithOp, left, right: unary(), pos: t.pos });
    }
    return left;
  };
  const unary = (): Node => {
    const t = peek();
    if (isOp(t, '-')) {
      p++;
      return node({ kind: 'neg', arg: unary(), pos: t.pos });
    }
    return postfix();
  };
  const postfix = (): Node => {
    let n = primary();
    while (isOp(peek(), '[')) {
      const open = toks[p++]!;
      const t = peek();
      if (t.kind !== 'num' || !/^\d+$/.test(t.text)) fail(t, 'a whole number of bars');
      p++;
      expect(']');
      const bars = Number(t.text);
      if (bars > 5000) throw new RuleError(`Looking back ${bars} bars is more than 5000`, t.pos.line, t.pos.column, 'PERIOD_TOO_LARGE');
      n = node({ kind: 'offset', arg: n, bars, pos: open.pos });
    }
    return n;
  };
  const primary = (): Node => {
    const t = peek();
    if (t.kind === 'num') {
      p++;
      return node({ kind: 'num', value: Number(t.text), pos: t.pos });
    }
    if (isOp(t, '(')) {
      p++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (t.kind === 'ident') {
      if (['and', 'or', 'not'].includes(t.text.toLowerCase())) fail(t, 'a value');
      p++;
      if (isOp(peek(), '(')) {
        p++;
        const args: Node[] = [];
        if (!isOp(peek(), ')')) {
          args.push(orExpr());
          while (isOp(peek(), ',')) {
            p++;
            args.push(orExpr());
          }
        }
        expect(')');
        return node({ kind: 'call', name: t.text, args, pos: t.pos });
      }
      if (FIELDS.includes(t.text)) return node({ kind: 'field', name: t.text as Field, pos: t.pos });
      throw new RuleError(`Unknown name '${t.text}' (values are open, high, low, close, volume, numbers and indicator calls)`, t.pos.line, t.pos.column, 'UNKNOWN_INDICATOR');
    }
    return fail(t, 'a value');
  };

  const root = orExpr();
  if (peek().kind !== 'eof') fail(peek(), "an operator or the end of the rule");
  return root;
}
