import { RuleError } from '../../strategies/rules/ast.js';
import { compileRule } from '../../strategies/rules/evaluator.js';

/** validateRule: the verdict on an expression, never an exception for a bad one. */
export function checkRule(expression: string) {
  try {
    const r = compileRule(expression);
    return { valid: true, message: null, line: null, column: null, reason: null, normalized: r.normalized, type: r.type, warmup: r.warmup };
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    return { valid: false, message: e.bare, line: e.line, column: e.column, reason: e.reason, normalized: null, type: null, warmup: null };
  }
}
