import type { Bar } from '../market/history.js';
import type { RuleSet, SignalAction } from './definition.js';
import type { RuleEvaluator } from './rules/evaluator.js';

export type Side = 'FLAT' | 'LONG' | 'SHORT';

/**
 * One instrument's decision state: the four conditions' evaluators and the side the strategy holds.
 * `next` takes a closed bar and returns the actions for it, exits first: a long exits on exitLong, a short
 * on exitShort, then a flat book enters long on enterLong or else short on enterShort (so a reversal is
 * an exit and an entry on the same bar). Live runs, replays and backtests all drive this one class.
 */
export class SymbolEngine {
  private readonly el?: RuleEvaluator;
  private readonly xl?: RuleEvaluator;
  private readonly es?: RuleEvaluator;
  private readonly xs?: RuleEvaluator;

  constructor(
    rules: RuleSet,
    public side: Side = 'FLAT',
  ) {
    // One shared map: the four conditions compute each common indicator once per bar.
    const shared = new Map<string, unknown>();
    this.el = rules.enterLong?.create(shared);
    this.xl = rules.exitLong?.create(shared);
    this.es = rules.enterShort?.create(shared);
    this.xs = rules.exitShort?.create(shared);
  }

  /** Feed a bar without acting on it (warm-up before the first bar a run may trade on). */
  warm(bar: Bar): void {
    this.el?.next(bar);
    this.xl?.next(bar);
    this.es?.next(bar);
    this.xs?.next(bar);
  }

  next(bar: Bar): SignalAction[] {
    const el = this.el ? this.el.next(bar) : null;
    const xl = this.xl ? this.xl.next(bar) : null;
    const es = this.es ? this.es.next(bar) : null;
    const xs = this.xs ? this.xs.next(bar) : null;
    let out: SignalAction[] | undefined;
    if (this.side === 'LONG' && xl) {
      (out ??= []).push('EXIT_LONG');
      this.side = 'FLAT';
    } else if (this.side === 'SHORT' && xs) {
      (out ??= []).push('EXIT_SHORT');
      this.side = 'FLAT';
    }
    if (this.side === 'FLAT') {
      if (el) {
        (out ??= []).push('ENTER_LONG');
        this.side = 'LONG';
      } else if (es) {
        (out ??= []).push('ENTER_SHORT');
        this.side = 'SHORT';
      }
    }
    return out ?? NONE;
  }
}

const NONE: SignalAction[] = [];
