import { useState, type FormEvent } from 'react';
import { login } from '../api';
import { ErrorNote } from '../components/ui';

/** Sign in with email and password; in the embedded mode the page carries the demo login, prefilled. */
export function Login() {
  const demo = document.body.dataset;
  const [email, setEmail] = useState(demo.demoEmail ?? '');
  const [password, setPassword] = useState(demo.demoPassword ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={submit} className="card" aria-label="Sign in">
        <h1>TradeGraph</h1>
        <p className="muted">Sign in to see your portfolios, trade and follow fills live.</p>
        <label>
          Email
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error ? <ErrorNote error={error} /> : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {demo.demoEmail && <p className="hint">Demo account prefilled (embedded mode).</p>}
      </form>
    </main>
  );
}
