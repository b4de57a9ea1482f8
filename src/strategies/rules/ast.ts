/** The typed AST of the rule language. Positions are 1-based line and column of the node's first token. */
export interface Pos {
  line: number;
  column: number;
}

export type Field = 'open' | 'high' | 'low' | 'close' | 'volume';
export type CompareOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type ArithOp = '+' | '-' | '*' | '/';

export type Node =
  | { kind: 'num'; value: number; pos: Pos }
  | { kind: 'field'; name: Field; pos: Pos }
  | { kind: 'call'; name: string; args: Node[]; pos: Pos }
  | { kind: 'neg'; arg: Node; pos: Pos }
  | { kind: 'not'; arg: Node; pos: Pos }
  | { kind: 'arith'; op: ArithOp; left: Node; right: Node; pos: Pos }
  | { kind: 'compare'; op: CompareOp; left: Node; right: Node; pos: Pos }
  | { kind: 'logic'; op: 'and' | 'or'; left: Node; right: Node; pos: Pos }
  | { kind: 'offset'; arg: Node; bars: number; pos: Pos };

export type ValueType = 'number' | 'boolean';

/** Why a rule was refused: a stable reason for clients, with the message and where. */
export type RuleErrorReason = 'PARSE_ERROR' | 'UNKNOWN_INDICATOR' | 'WRONG_ARITY' | 'INVALID_PERIOD' | 'PERIOD_TOO_LARGE' | 'TYPE_ERROR' | 'TOO_COMPLEX';

export class RuleError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly reason: RuleErrorReason = 'PARSE_ERROR',
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'RuleError';
  }
  /** The message without the position suffix. */
  get bare(): string {
    return this.message.replace(/ \(line \d+, column \d+\)$/, '');
  }
}
