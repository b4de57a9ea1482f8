export interface EarningsLine {
  line: number;
  symbol: string;
  exchange: string;
  date: string;
  epsEstimate: string | null;
  epsActual: string | null;
}

const NUM = /^-?\d{1,12}(\.\d{1,8})?$/;

/** Parse `symbol,exchange,date,epsEstimate,epsActual` (header line 1; empty EPS = not known yet). */
export function parseEarningsCsv(csv: string): { rows: EarningsLine[]; errors: { line: number; message: string }[] } {
  const lines = csv.split(/\r?\n/);
  const rows: EarningsLine[] = [];
  const errors: { line: number; message: string }[] = [];
  if ((lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase()).join(',') !== 'symbol,exchange,date,epsestimate,epsactual') {
    return { rows, errors: [{ line: 1, message: 'Header must be symbol,exchange,date,epsEstimate,epsActual' }] };
  }
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    const f = raw.split(',').map((x) => x.trim());
    const line = i + 1;
    if (f.length !== 5) {
      errors.push({ line, message: `Expected 5 fields, got ${f.length}` });
      continue;
    }
    const [symbol, exchange, date, est, act] = f as [string, string, string, string, string];
    if (!symbol) {
      errors.push({ line, message: 'symbol is empty' });
      continue;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) {
      errors.push({ line, message: `Invalid date '${date}' (YYYY-MM-DD)` });
      continue;
    }
    const bad = [est, act].find((v) => v !== '' && !NUM.test(v));
    if (bad !== undefined) {
      errors.push({ line, message: `Invalid EPS '${bad}'` });
      continue;
    }
    rows.push({ line, symbol, exchange, date, epsEstimate: est === '' ? null : est, epsActual: act === '' ? null : act });
  }
  return { rows, errors };
}
