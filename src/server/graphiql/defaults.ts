/**
 * What a first-time visitor sees in GraphiQL: how to log in, and where the token goes so that queries,
 * mutations and subscriptions (graphql-ws `connection_init`) all run as that user.
 * Browser code, bundled by scripts/build-graphiql.mjs.
 */

/** The query editor's content on first visit (GraphiQL keeps the user's own edits in localStorage). */
export const DEFAULT_QUERY = `# Welcome to TradeGraph.
#
# 1. Log in: put the cursor in "Login" and press
#    Ctrl/Cmd + Enter (or the run button, then pick
#    "Login"). The demo user exists when demo data was
#    seeded (the default of \`npm start\`); anyone can
#    sign up with the "register" mutation.
# 2. Copy "accessToken" from the result into the
#    Headers tab below:
#      {"Authorization": "Bearer <accessToken>"}
# 3. Now everything runs as that user. Subscriptions
#    run over graphql-ws on this same URL and send the
#    headers when their socket opens: after changing
#    the headers, start the subscription again.

mutation Login {
  login(
    email: "demo@tradegraph.dev"
    password: "demo-password-123"
  ) {
    accessToken
    user { id email role }
  }
}

query Me {
  me { id email role }
  portfolios { id name cash availableCash totalValue }
}

subscription Quotes {
  quotes(symbols: ["AAPL", "MSFT"]) {
    symbol bid ask last timestamp
  }
}

subscription MyOrders {
  orderUpdated {
    sequence
    order { id status filledQuantity averageFillPrice }
  }
}
`;

/** The Headers tab's content on first visit: the token goes after "Bearer ". */
export const DEFAULT_HEADERS = `{
  "Authorization": "Bearer "
}`;
