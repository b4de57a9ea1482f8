import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { gql, isSignedIn, logout, onSessionChange, onSocketState, type SocketState } from './api';
import { href, useRoute } from './router';
import { Login } from './pages/Login';
import { Portfolios } from './pages/Portfolios';
import { PortfolioPage } from './pages/PortfolioPage';
import { Smallcases } from './pages/Smallcases';
import { Watchlists } from './pages/Watchlists';
import { Proposals } from './pages/Proposals';
import { Strategies } from './pages/Strategies';
import './styles.css';

/** The pages, by the first part of the route; each appears in the menu once its API exists. */
const NAV: { path: string; label: string }[] = [
  { path: '', label: 'Portfolios' },
  { path: 'smallcases', label: 'Smallcases' },
  { path: 'watchlists', label: 'Watchlists' },
  { path: 'strategies', label: 'Strategies' },
  { path: 'proposals', label: 'Proposals' },
];

function App() {
  const [signedIn, setSignedIn] = useState(isSignedIn());
  useEffect(() => onSessionChange(setSignedIn), []);
  if (!signedIn) return <Login />;
  return <Shell />;
}

function Shell() {
  const route = useRoute();
  const [me, setMe] = useState<string | null>(null);
  const [socket, setSocket] = useState<SocketState>('offline');
  useEffect(() => onSocketState(setSocket), []);
  useEffect(() => {
    gql<{ me: { email: string } }>('query Me { me { email } }').then((r) => setMe(r.me.email), () => undefined);
  }, []);
  const [page, ...rest] = route;
  return (
    <div className="shell">
      <header className="top">
        <a className="brand" href={href()}>
          TradeGraph
        </a>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <a key={n.path} href={href(...(n.path ? [n.path] : []))} className={(page ?? '') === n.path || (n.path === '' && page === 'portfolio') ? 'active' : ''}>
              {n.label}
            </a>
          ))}
        </nav>
        <span className={`socket ${socket}`} title="Live updates over graphql-ws" data-testid="socket-state">
          {socket === 'live' ? 'Live' : socket === 'connecting' ? 'Connecting…' : 'Idle'}
        </span>
        <span className="who small muted">{me}</span>
        <button type="button" className="link" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main className="content">{renderPage(page ?? '', rest)}</main>
    </div>
  );
}

function renderPage(page: string, rest: string[]) {
  switch (page) {
    case 'portfolio':
      return rest[0] ? <PortfolioPage id={rest[0]} /> : <Portfolios />;
    case 'smallcases':
      return <Smallcases id={rest[0]} />;
    case 'watchlists':
      return <Watchlists />;
    case 'proposals':
      return <Proposals />;
    case 'strategies':
      return <Strategies />;
    default:
      return <Portfolios />;
  }
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
