/**
 * Browser entry of the GraphiQL page (bundled by scripts/build-graphiql.mjs into dist/graphiql/).
 *
 * Plain `.ts` with `createElement` rather than TSX, so the project's tsconfig needs no JSX setting.
 * The page (see ../graphiql.ts) provides `<div id="graphiql" data-endpoint="/graphql">`.
 */
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { createElement, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_HEADERS, DEFAULT_QUERY } from './defaults.js';
import { createTradeGraphFetcher, endpointsFor } from './fetcher.js';

const root = document.getElementById('graphiql');
if (!root) throw new Error('GraphiQL: the page has no #graphiql element');

const fetcher = createTradeGraphFetcher(endpointsFor(window.location, root.dataset.endpoint ?? '/graphql'));

createRoot(root).render(
  createElement(
    StrictMode,
    null,
    createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: DEFAULT_HEADERS,
      // Open the Headers tab on first visit: that is where the token goes.
      defaultEditorToolsVisibility: 'headers',
      // Tokens stay out of localStorage unless the user turns on "Persist headers" in GraphiQL's settings.
      shouldPersistHeaders: false,
    }),
  ),
);
