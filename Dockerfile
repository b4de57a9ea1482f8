# syntax=docker/dockerfile:1
# One image for every role: `api`, `worker`, `migrate`, or `all` (embedded, the default CMD).
#   docker build -t tradegraph .
#   docker run -p 4000:4000 tradegraph            # embedded mode: PGlite under /app/data
#   docker compose up                             # scaled mode: see docker-compose.yml

# ---- build: full dependencies, compile TypeScript and the GraphiQL bundle, then drop dev deps ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json .npmrc ./
# postinstall (scripts/postinstall.mjs) prebuilds what it can; it never fails the install.
COPY scripts ./scripts
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
# tsc -p tsconfig.build.json (src -> dist, rootDir src) + node scripts/build-graphiql.mjs
RUN npm run build && test -f dist/main.js
RUN npm prune --omit=dev

# ---- runtime: compiled code, migrations and production node_modules only ----
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/app/data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/drizzle ./drizzle
COPY --from=build /app/dist ./dist
# Code stays root-owned (read-only for the app); only the embedded-mode data folder is writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 4000
# Liveness of the HTTP server (every role that listens on PORT serves /healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
