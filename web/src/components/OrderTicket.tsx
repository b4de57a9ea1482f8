import { useState, type FormEvent } from 'react';
import { gql } from '../api';
import { ErrorNote } from './ui';

const TYPES = ['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT'] as const;
const TIFS = ['DAY', 'GTC', 'IOC'] as const;

/** Every order type, with the prices each one needs; the server's error message is shown as it is. */
export function OrderTicket({ portfolioId, symbols, onPlaced }: { portfolioId: string; symbols: string[]; onPlaced?: (orderId: string) => void }) {
  const [symbol, setSymbol] = useState('');
  const [side, setSide] = useState<'BUY' | 'SELL'>('BUY');
  const [type, setType] = useState<(typeof TYPES)[number]>('MARKET');
  const [quantity, setQuantity] = useState('1');
  const [limitPrice, setLimitPrice] = useState('');
  const [stopPrice, setStopPrice] = useState('');
  const [tif, setTif] = useState<(typeof TIFS)[number]>('DAY');
  const [error, setError] = useState<unknown>(null);
  const [placed, setPlaced] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const needsLimit = type === 'LIMIT' || type === 'STOP_LIMIT';
  const needsStop = type === 'STOP' || type === 'STOP_LIMIT';

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setPlaced(null);
    try {
      const input: Record<string, unknown> = { portfolioId, symbol: symbol.trim().toUpperCase(), side, type, quantity: quantity.trim(), timeInForce: tif };
      if (needsLimit) input.limitPrice = limitPrice.trim();
      if (needsStop) input.stopPrice = stopPrice.trim();
      const r = await gql<{ placeOrder: { id: string; status: string } }>(
        'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
        { input },
      );
      setPlaced(`${side === 'BUY' ? 'Buy' : 'Sell'} order for ${quantity} ${input.symbol as string} placed (${r.placeOrder.status}).`);
      onPlaced?.(r.placeOrder.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card ticket" onSubmit={submit} aria-label="Order ticket">
      <h3>Order ticket</h3>
      <div className="segmented" role="radiogroup" aria-label="Side">
        {(['BUY', 'SELL'] as const).map((s) => (
          <label key={s} className={side === s ? `on ${s.toLowerCase()}` : ''}>
            <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} />
            {s === 'BUY' ? 'Buy' : 'Sell'}
          </label>
        ))}
      </div>
      <label>
        Symbol
        <input name="symbol" list="ticket-symbols" required value={symbol} onChange={(e) => setSymbol(e.target.value)} placeholder="RELIANCE" autoComplete="off" />
        <datalist id="ticket-symbols">
          {symbols.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Type
        <select name="type" value={type} onChange={(e) => setType(e.target.value as (typeof TYPES)[number])}>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        Quantity
        <input name="quantity" required inputMode="decimal" value={quantity} onChange={(e) => setQuantity(e.target.value)} />
      </label>
      {needsLimit && (
        <label>
          Limit price
          <input name="limitPrice" required inputMode="decimal" value={limitPrice} onChange={(e) => setLimitPrice(e.target.value)} />
        </label>
      )}
      {needsStop && (
        <label>
          Stop price
          <input name="stopPrice" required inputMode="decimal" value={stopPrice} onChange={(e) => setStopPrice(e.target.value)} />
        </label>
      )}
      <label>
        Time in force
        <select name="timeInForce" value={tif} onChange={(e) => setTif(e.target.value as (typeof TIFS)[number])}>
          {TIFS.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <button type="submit" className={side === 'BUY' ? 'buy' : 'sell'} disabled={busy}>
        {busy ? 'Placing…' : `${side === 'BUY' ? 'Buy' : 'Sell'} ${symbol.trim().toUpperCase() || ''}`}
      </button>
      {placed && (
        <p className="ok" role="status">
          {placed}
        </p>
      )}
      {error ? <ErrorNote error={error} /> : null}
    </form>
  );
}
